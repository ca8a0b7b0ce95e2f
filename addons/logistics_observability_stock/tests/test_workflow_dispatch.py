import base64
import datetime

from odoo.addons.logistics_observability.tests.workflow_common import RunCounter
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

# 1x1 transparent PNG
SIGNATURE = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
        "0000050001e226059b0000000049454e44ae426082"
    )
)


@tagged("post_install", "-at_install")
class TestDispatch(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.out_type = cls.warehouse.out_type_id
        cls.in_type = cls.warehouse.in_type_id
        cls.product = cls.env["product.product"].create({"name": "Crate", "type": "consu"})
        cls.customer = cls.env["res.partner"].create({"name": "Dispatch Customer"})

    def _picking(self, picking_type, with_move=True):
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "partner_id": self.customer.id,
                "location_id": picking_type.default_location_src_id.id,
                "location_dest_id": (
                    picking_type.default_location_dest_id or self.env.ref("stock.stock_location_customers")
                ).id,
            }
        )
        if with_move:
            move = {
                "product_id": self.product.id,
                "product_uom_qty": 3,
                "product_uom": self.product.uom_id.id,
                "picking_id": picking.id,
                "location_id": picking.location_id.id,
                "location_dest_id": picking.location_dest_id.id,
            }
            if "name" in self.env["stock.move"]._fields:  # 18.0 (19.0's moves have no name)
                move["name"] = self.product.name
            self.env["stock.move"].create(move)
            picking.action_confirm()
            picking.action_assign()
            picking.move_ids.quantity = 3
        return picking

    def test_validating_an_outgoing_picking_is_one_dispatch(self):
        runs = RunCounter(self.env, "dispatch")
        picking = self._picking(self.out_type)
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.assertEqual(runs.delta("success"), 1)
        self.assertEqual(runs.ledger_delta("success"), 1)

    def test_receipts_are_not_dispatches(self):
        runs = RunCounter(self.env, "dispatch")
        picking = self._picking(self.in_type)
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.assertEqual(runs.delta("success") + runs.delta("failure"), 0)

    def test_refused_validation_is_a_failure_even_rolled_back(self):
        runs = RunCounter(self.env, "dispatch")
        empty = self._picking(self.out_type, with_move=False)
        with self.assertRaises(UserError):
            empty.button_validate()
        self.assertEqual(runs.delta("failure"), 1)
        self.assertEqual(runs.ledger_delta("failure"), 1)
        self.assertEqual(runs.delta("success"), 0)

    def test_signature_on_a_dispatched_picking_is_a_pod_sync(self):
        picking = self._picking(self.out_type)
        picking.button_validate()
        runs = RunCounter(self.env, "pod_sync")
        picking.write({"signature": SIGNATURE})
        self.assertEqual(runs.delta("success"), 1)
        self.assertEqual(runs.ledger_delta("success"), 1)
        picking.write({"signature": SIGNATURE})  # already signed: not a new proof
        self.assertEqual(runs.delta("success"), 1)

    def test_external_pod_event_duration_is_the_lag_since_dispatch(self):
        picking = self._picking(self.out_type)
        picking.button_validate()
        occurred = picking.date_done + datetime.timedelta(minutes=42)
        events = [
            {
                "workflow": "pod_sync",
                "outcome": "success",
                "reference": picking.name,
                "occurred_at": occurred,
                "duration_ms": 1.0,
            },
            {
                "workflow": "pod_sync",
                "outcome": "success",
                "reference": "NOT-A-PICKING",
                "occurred_at": occurred,
                "duration_ms": 1500.0,
            },
        ]
        accepted, duplicates = self.env["logistics.workflow.event"]._ingest(events)
        self.assertEqual((accepted, duplicates), (2, 0))
        stored = self.env["logistics.workflow.event"].search(
            [("reference", "in", (picking.name, "NOT-A-PICKING"))]
        )
        lags = {e.reference: e.duration_ms for e in stored}
        self.assertAlmostEqual(lags[picking.name], 42 * 60 * 1000.0, delta=1000)
        self.assertEqual(lags["NOT-A-PICKING"], 1500.0)
