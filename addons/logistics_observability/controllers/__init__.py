from . import metrics
from . import health
from . import events
from . import backups
