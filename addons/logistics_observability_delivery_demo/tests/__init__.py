from . import test_workflow_carrier
