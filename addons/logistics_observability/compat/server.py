"""Server processes: configuration, store reset, dedicated listener, process types (Odoo 18.0
and 19.0; 19.0 adds the graceful reload, ``odoo19/server.py``).

- The master (``PreforkServer.run``) or the single process (``ThreadedServer.run``)
  claims the metrics directory (instance lock; a private directory when another
  live instance holds it), then wipes what a previous run left there, once,
  before any worker exists, then starts the dedicated metrics listener. The gevent process
  is exec'd by the master and must not wipe: ``GeventServer.run`` is left alone.
- The instance's start (``odoo_instance_start_time_seconds``, set by the process that wiped) and
  ``odoo_build_info{release}`` show a restart or a release change. The wipe also forgets the
  previous run's exemplars: they would link a bucket to a trace of another run.
- Each worker reports its type in ``odoo_worker_processes{type}`` (a ``livesum``
  gauge: only live processes count). Both metrics are defined in ``core/server_metrics.py``.
"""

import atexit
import functools
import logging
import os
import shutil
import tempfile
import time

from ..core import config as obs_config
from ..core import detail, exemplars, instance, listener, metrics, server_metrics, tracing

_logger = logging.getLogger(__name__)


def configure():
    import odoo
    from odoo import release

    cfg = obs_config.load(odoo.tools.config.options, odoo_version=release.version)
    obs_config.set_current(cfg)
    detail.configure(cfg.metrics_detail)  # before any series is recorded
    metrics.configure(
        directory=cfg.metrics_dir,
        max_tenants=cfg.max_tenants,
        max_routes=cfg.max_routes,
        capacity=cfg.store_capacity,
        hold=cfg.new_series_hold,
    )
    metrics.set_build_info(version=release.version, **cfg.taxonomy())
    try:
        tracing.configure(cfg)  # no SDK set-up here: each process does its own on its first span
    except Exception:
        _logger.exception("logistics_observability: tracing set-up failed; tracing is off")
    return cfg


_claim = {}


def _use_directory(cfg, directory):
    cfg.metrics_dir = directory
    metrics.configure(directory=directory)
    # the gevent process is exec'd and reads its configuration again: it must follow
    os.environ["ODOO_OBSERVABILITY_METRICS_DIR"] = directory


def _claim_directory(cfg, stop):
    """Make the metrics directory this instance's own before anything is wiped (see core/instance.py)."""
    if stop:
        # one-shot runs (-u ... --stop-after-init) never touch a live instance's metrics
        directory = tempfile.mkdtemp(prefix="odoo-observability-oneshot-")
        atexit.register(shutil.rmtree, directory, True)
        _use_directory(cfg, directory)
        return False
    wanted = cfg.metrics_dir
    claim = instance.claim(wanted)
    _claim["claim"] = claim
    if claim.private:
        _logger.error(
            "logistics_observability: observability_metrics_dir %s belongs to another live Odoo "
            "instance (pid %s); this instance keeps its metrics in its own directory %s. "
            "Give each instance its own observability_metrics_dir.",
            wanted,
            instance.holder(wanted) or "?",
            claim.directory,
        )
        _use_directory(cfg, claim.directory)
    return "inherited" if claim.inherited else True


def pass_instance_lock():
    """Before a master re-executes itself: its successor keeps the instance (see core/instance.py)."""
    return instance.pass_on(_claim.get("claim"))


def _on_start(stop=False):
    """Runs once in the process that owns the instance, before it serves anything."""
    cfg = obs_config.current()
    try:
        claimed = _claim_directory(cfg, stop)
        if not claimed:
            return
        if claimed == "inherited":
            # a reloaded master: the workers of its predecessor still count in this directory
            _logger.info(
                "logistics_observability: metrics directory %s kept across the reload", cfg.metrics_dir
            )
            _start_listener(cfg)
            return
        removed = metrics.wipe()  # only once the directory is ours
        exemplars.clear(cfg.metrics_dir)
        _logger.info(
            "logistics_observability: metrics directory %s ready (%s stale slots removed)",
            cfg.metrics_dir,
            removed,
        )
    except Exception as exc:
        _logger.error(
            "logistics_observability: cannot prepare the metrics directory %s (%s); "
            "metrics will be incomplete, Odoo goes on",
            cfg.metrics_dir,
            exc,
        )
    server_metrics.instance_started(time.time())
    _start_listener(cfg)


def _start_listener(cfg):
    try:
        if cfg.metrics_port and listener.start(cfg.metrics_interface, cfg.metrics_port, obs_config.current):
            _warm_tenants()
    except Exception:
        _logger.exception("logistics_observability: metrics listener start-up failed; Odoo goes on")


def _warm_tenants():
    """Read the tenant databases now, in the process whose listener will serve the scrapes, so
    the first scrape gets the complete list (it runs the same collector threads a scrape would)."""
    from . import collectors

    collector = collectors.tenant_collector()
    if collector is not None:
        collector.kick()


def install():
    from odoo.service import server

    configure()

    prefork_run = server.PreforkServer.run

    @functools.wraps(prefork_run)
    def prefork_run_wrapper(self, preload, stop):
        _on_start(stop)
        return prefork_run(self, preload, stop)

    threaded_run = server.ThreadedServer.run

    @functools.wraps(threaded_run)
    def threaded_run_wrapper(self, preload=None, stop=False):
        _on_start(stop)
        if not stop:
            server_metrics.set_process_type("http")
        return threaded_run(self, preload, stop)

    worker_start = server.Worker.start

    @functools.wraps(worker_start)
    def worker_start_wrapper(self):
        result = worker_start(self)
        server_metrics.set_process_type("cron" if isinstance(self, server.WorkerCron) else "http")
        return result

    gevent_start = server.GeventServer.start

    @functools.wraps(gevent_start)
    def gevent_start_wrapper(self, *args, **kwargs):
        server_metrics.set_process_type("gevent")
        return gevent_start(self, *args, **kwargs)

    server.PreforkServer.run = prefork_run_wrapper
    server.ThreadedServer.run = threaded_run_wrapper
    server.Worker.start = worker_start_wrapper
    server.GeventServer.start = gevent_start_wrapper
