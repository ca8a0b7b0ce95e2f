from . import test_workflow_dispatch
