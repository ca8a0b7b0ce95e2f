from . import models
from . import controllers
from . import cli
from . import metrics_export
from . import snapshot

metrics_export.register()


def uninstall_hook(env):
    snapshot.remove(env.cr.dbname)
