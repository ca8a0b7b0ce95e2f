from . import test_slo
