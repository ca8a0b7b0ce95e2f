from . import test_workflow_order_release
