from . import compat
from . import models
from . import controllers
from . import cli
from .hooks import post_load
