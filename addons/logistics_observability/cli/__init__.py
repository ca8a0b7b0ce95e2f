
from . import backup_report
