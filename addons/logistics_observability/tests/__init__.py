from . import test_install
from . import test_events_endpoint
from . import test_backup_endpoint
from . import test_backup_status
from . import test_platform_health
from . import test_access_platform
from . import test_platform_health_ui
from . import test_metrics_controller
