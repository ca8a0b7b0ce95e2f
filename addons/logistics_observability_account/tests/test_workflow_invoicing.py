from odoo.addons.logistics_observability.tests.workflow_common import RunCounter
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInvoicing(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Invoiced Customer"})
        cls.product = cls.env["product.product"].create(
            {"name": "Freight", "type": "service", "list_price": 50}
        )

    def _move(self, move_type, lines=True):
        return self.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": self.partner.id,
                "invoice_line_ids": [(0, 0, {"product_id": self.product.id, "quantity": 1, "price_unit": 50})]
                if lines
                else [],
            }
        )

    def test_customer_invoice_and_refund_are_counted(self):
        runs = RunCounter(self.env, "invoicing")
        self._move("out_invoice").action_post()
        self._move("out_refund").action_post()
        self.assertEqual(runs.delta("success"), 2)
        self.assertEqual(runs.ledger_delta("success"), 2)

    def test_vendor_bills_are_not_counted(self):
        runs = RunCounter(self.env, "invoicing")
        bill = self._move("in_invoice")
        bill.invoice_date = bill.date
        bill.action_post()
        self.assertEqual(runs.delta("success") + runs.delta("failure"), 0)

    def test_refused_posting_is_a_failure_even_rolled_back(self):
        runs = RunCounter(self.env, "invoicing")
        empty = self._move("out_invoice", lines=False)
        with self.assertRaises(UserError):  # nothing to post
            empty.action_post()
        self.assertEqual(runs.delta("failure"), 1)
        self.assertEqual(runs.ledger_delta("failure"), 1)
