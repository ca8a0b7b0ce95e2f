from . import slo_rules
