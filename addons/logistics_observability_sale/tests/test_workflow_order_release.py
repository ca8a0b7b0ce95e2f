from odoo.addons.logistics_observability.tests.workflow_common import RunCounter
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestOrderRelease(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Order Release Customer"})
        cls.product = cls.env["product.product"].create({"name": "Pallet", "type": "consu", "list_price": 10})

    def _order(self):
        return self.env["sale.order"].create(
            {
                "partner_id": self.partner.id,
                "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 2})],
            }
        )

    def test_confirmation_counts_a_success_for_this_tenant(self):
        runs = RunCounter(self.env, "order_release")
        order = self._order()
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(runs.delta("success"), 1)
        self.assertEqual(runs.delta("failure"), 0)
        self.assertEqual(runs.ledger_delta("success"), 1)

    def test_refused_confirmation_is_a_failure_even_rolled_back(self):
        order = self._order()
        order.action_confirm()
        runs = RunCounter(self.env, "order_release")
        with self.assertRaises(UserError):  # already confirmed: refused, savepoint rolled back
            order.action_confirm()
        self.assertEqual(runs.delta("failure"), 1)
        self.assertEqual(runs.delta("success"), 0)
        self.assertEqual(runs.ledger_delta("failure"), 1)
