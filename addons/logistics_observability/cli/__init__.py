from . import observability_backup
from . import synthetic_targets
from . import observability_server
