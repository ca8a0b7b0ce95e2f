from . import slo
from . import platform_health
