
from . import workflow_ledger
from . import event
from . import backup_policy
from . import backup_run
from . import queue_depth
from . import queue_depth_sample
from . import workflow_summary
from . import platform_health
from . import audit_event
from . import platform_health_security
from . import change_audit
from . import synthetic_check
