from . import stock_picking
from . import workflow_event
