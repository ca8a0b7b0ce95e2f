
from . import backup_report
from . import server
