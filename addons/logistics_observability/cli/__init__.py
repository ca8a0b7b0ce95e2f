
from . import backup_report
from . import synthetic_targets
from . import server
