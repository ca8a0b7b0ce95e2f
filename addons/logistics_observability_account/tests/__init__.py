from . import test_workflow_invoicing
