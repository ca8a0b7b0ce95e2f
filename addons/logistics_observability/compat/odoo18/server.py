"""Odoo 18 server processes: configuration, store reset, dedicated listener, process types.

- The master (``PreforkServer.run``) or the single process (``ThreadedServer.run``)
  wipes what a previous run left in the metrics directory, once, before any
  worker exists, then starts the dedicated metrics listener. The gevent process
  is exec'd by the master and must not wipe: ``GeventServer.run`` is left alone.
- Each worker reports its type in ``odoo_worker_processes{type}`` (a ``livesum``
  gauge: only live processes count).
"""
import functools
import logging

from ...core import config as obs_config
from ...core import listener, metrics

_logger = logging.getLogger(__name__)

WORKER_PROCESSES = metrics.gauge(
    "odoo_worker_processes", "Live Odoo server processes by type.", ("type",), mode="livesum")


def configure():
    import odoo
    from odoo import release

    cfg = obs_config.load(odoo.tools.config.options, odoo_version=release.version)
    obs_config.set_current(cfg)
    metrics.configure(directory=cfg.metrics_dir, max_tenants=cfg.max_tenants, max_routes=cfg.max_routes)
    metrics.set_build_info(version=release.version, **cfg.taxonomy())
    return cfg


def set_process_type(kind):
    try:
        WORKER_PROCESSES.labels(type=kind).set(1)
    except Exception:
        _logger.warning("logistics_observability: cannot report the process type", exc_info=True)


def _on_start(stop=False):
    """Runs once in the process that owns the instance, before it serves anything."""
    if stop:
        return  # one-shot runs (-u ... --stop-after-init) must not reset a live instance's metrics
    cfg = obs_config.current()
    try:
        removed = metrics.wipe()
        _logger.info("logistics_observability: metrics directory %s ready (%s stale slots removed)",
                     cfg.metrics_dir, removed)
    except Exception as exc:
        _logger.error("logistics_observability: cannot prepare the metrics directory %s (%s); "
                      "metrics will be incomplete, Odoo goes on", cfg.metrics_dir, exc)
    try:
        if cfg.metrics_port:
            listener.start(cfg.metrics_interface, cfg.metrics_port, obs_config.current)
    except Exception:
        _logger.exception("logistics_observability: metrics listener start-up failed; Odoo goes on")


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
            set_process_type("http")
        return threaded_run(self, preload, stop)

    worker_start = server.Worker.start

    @functools.wraps(worker_start)
    def worker_start_wrapper(self):
        result = worker_start(self)
        set_process_type("cron" if isinstance(self, server.WorkerCron) else "http")
        return result

    gevent_start = server.GeventServer.start

    @functools.wraps(gevent_start)
    def gevent_start_wrapper(self, *args, **kwargs):
        set_process_type("gevent")
        return gevent_start(self, *args, **kwargs)

    server.PreforkServer.run = prefork_run_wrapper
    server.ThreadedServer.run = threaded_run_wrapper
    server.Worker.start = worker_start_wrapper
    server.GeventServer.start = gevent_start_wrapper
