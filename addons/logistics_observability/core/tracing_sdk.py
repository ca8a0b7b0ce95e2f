"""The OpenTelemetry SDK behind :mod:`.tracing`: set up once per process, after the fork.

- Lazily: :func:`emit` sets the SDK up in the process that hands it its first span (an HTTP or
  cron worker; the prefork master serves no request, so it never does); a forked child drops
  what its parent had (:func:`.atfork.at_fork_in_child`) and sets up its own.
- Resource: the taxonomy (``service.name``, ``deployment.environment``, ``cloud.region``,
  ``service.version``, ``service.instance.id``), overridden by ``OTEL_SERVICE_NAME`` and
  ``OTEL_RESOURCE_ATTRIBUTES``.
- Ids: the span's ids are the ones :mod:`.tracing` gives (the request's own, from
  :mod:`.context`), through an ``IdGenerator`` that answers them.
- Export: :class:`BoundedBatchProcessor` (a bounded queue that drops, never blocks, counted in
  ``odoo_tracing_spans_dropped_total``) to the OTLP/HTTP protobuf exporter (endpoint
  ``observability_otlp_endpoint``, else the standard ``OTEL_EXPORTER_OTLP_*`` variables, which
  also give headers and timeout; default timeout :data:`EXPORT_TIMEOUT`).
"""

import atexit
import collections
import logging
import os
import socket
import threading

from . import metrics
from .atfork import at_fork_in_child

_logger = logging.getLogger(__name__)

MAX_QUEUE = 2048  # spans waiting for export in one process; one more is dropped
MAX_BATCH = 512
SCHEDULE_DELAY = 1.0  # seconds between two exports of a quiet process
EXPORT_TIMEOUT = 2.0  # seconds, one export request (unless OTEL_EXPORTER_OTLP_*TIMEOUT says)
SHUTDOWN_TIMEOUT = 2.0  # seconds an exiting process waits for its last export

SPANS_DROPPED = metrics.counter(
    "odoo_tracing_spans_dropped_total",
    "Spans dropped before export: the process's export queue was full (an exporter slow or down).",
    ("reason",),
)
SPANS_EXPORTED = metrics.counter(
    "odoo_tracing_spans_exported_total", "Spans handed to the OTLP exporter, by result.", ("result",)
)

_KIND_NAMES = ("server", "client", "internal", "producer", "consumer")
_state = {"pid": None, "tracer": None, "processor": None, "cfg": None, "api": None}
_setup_lock = threading.Lock()
_local = threading.local()


def configure(cfg):
    """Check the SDK can be imported (one error line when it cannot: tracing stays off); keep
    ``cfg`` for the set-up each process does on its first span."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        _logger.error(
            "logistics_observability: observability_tracing is on but the OpenTelemetry packages "
            "are missing (%s; pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http): "
            "tracing is off",
            exc,
        )
        return False
    _state["cfg"] = cfg
    return True


@at_fork_in_child
def _forget():
    """A forked child never uses its parent's provider, queue or export thread."""
    _state.update(pid=None, tracer=None, processor=None)
    globals()["_setup_lock"] = threading.Lock()


def resource_attributes(cfg):
    attributes = {
        "service.name": cfg.service,
        "deployment.environment": cfg.env,
        "deployment.environment.name": cfg.env,
        "cloud.region": cfg.region,
        "service.instance.id": "%s:%d" % (socket.gethostname(), os.getpid()),
    }
    if cfg.release:
        attributes["service.version"] = cfg.release
    return attributes


def exporter_timeout(environ=None):
    environ = os.environ if environ is None else environ
    for name in ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        if environ.get(name):
            return None  # the exporter reads it
    return EXPORT_TIMEOUT


def _set_up():
    from opentelemetry import trace as api
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    class GivenIds(IdGenerator):
        """The ids :func:`emit` sets for the span being started; random otherwise."""

        random = RandomIdGenerator()

        def generate_span_id(self):
            given = getattr(_local, "span_id", None)
            if given is None:
                return self.random.generate_span_id()
            _local.span_id = None
            return given

        def generate_trace_id(self):
            given = getattr(_local, "trace_id", None)
            if given is None:
                return self.random.generate_trace_id()
            _local.trace_id = None
            return given

    cfg = _state["cfg"]
    # ours first, the standard variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) win
    resource = Resource(resource_attributes(cfg)).merge(OTELResourceDetector().detect())
    kwargs = {"timeout": exporter_timeout()}
    if cfg.otlp_endpoint:
        kwargs["endpoint"] = cfg.otlp_endpoint
    processor = BoundedBatchProcessor(OTLPSpanExporter(**{k: v for k, v in kwargs.items() if v}))
    # the decision is taken before a span reaches the SDK (core/tracing.py): record every one
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON, id_generator=GivenIds())
    provider.add_span_processor(processor)
    _state.update(
        pid=os.getpid(),
        tracer=provider.get_tracer("logistics_observability"),
        processor=processor,
        api=api,
    )


def _tracer():
    if _state["pid"] != os.getpid():
        with _setup_lock:
            if _state["pid"] != os.getpid():
                _set_up()
    return _state["tracer"]


def emit(name, kind, trace_id, span_id, parent_id, start_ns, end_ns, attributes, error):
    """Hand one finished span to the SDK: hex ids (``parent_id`` ``None``: a root span), times in
    ns since the epoch."""
    tracer = _tracer()
    api = _state["api"]
    parent = api.set_span_in_context(api.INVALID_SPAN, context={})
    if parent_id:
        parent = api.set_span_in_context(
            api.NonRecordingSpan(
                api.SpanContext(
                    int(trace_id, 16), int(parent_id, 16), is_remote=True, trace_flags=api.TraceFlags(1)
                )
            ),
            context={},
        )
    _local.trace_id = int(trace_id, 16)
    _local.span_id = int(span_id, 16)
    try:
        span = tracer.start_span(
            name,
            context=parent,
            kind=api.SpanKind[kind.upper()] if kind in _KIND_NAMES else api.SpanKind.INTERNAL,
            attributes=attributes,
            start_time=start_ns,
        )
    finally:
        _local.trace_id = _local.span_id = None
    if error:
        span.set_status(api.Status(api.StatusCode.ERROR))
    span.end(end_time=end_ns)


class BoundedBatchProcessor:
    """A batch span processor whose queue never blocks a request: a span that finds it full is
    dropped and counted. One export thread per process, started with the first span."""

    def __init__(self, exporter, max_queue=MAX_QUEUE, max_batch=MAX_BATCH, delay=SCHEDULE_DELAY):
        self.exporter = exporter
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.delay = delay
        self.queue = collections.deque()
        self.wake = threading.Event()
        self.stopped = False
        self.thread = None
        self.pid = None
        self.export_lock = threading.Lock()
        atexit.register(self.shutdown)

    # SpanProcessor's interface
    def on_start(self, span, parent_context=None):
        pass

    def _on_ending(self, span):
        pass

    def on_end(self, span):
        if self.pid != os.getpid():
            self._start()
        if self.stopped or len(self.queue) >= self.max_queue:
            SPANS_DROPPED.labels(reason="shutdown" if self.stopped else "queue_full").inc()
            return
        self.queue.append(span)
        if len(self.queue) >= self.max_batch:
            self.wake.set()

    def _start(self):
        self.pid = os.getpid()
        self.queue.clear()
        self.wake = threading.Event()
        self.export_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="odoo-otel-export", daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            self.wake.wait(self.delay)
            self.wake.clear()
            self._export_all()

    def _export_all(self):
        with self.export_lock:
            while self.queue:
                batch = []
                while self.queue and len(batch) < self.max_batch:
                    batch.append(self.queue.popleft())
                try:
                    result = self.exporter.export(batch)
                    ok = getattr(result, "name", "") == "SUCCESS"
                except Exception:
                    _logger.debug("span export failed", exc_info=True)
                    ok = False
                SPANS_EXPORTED.labels(result="success" if ok else "failure").inc(len(batch))

    def force_flush(self, timeout_millis=None):
        thread = threading.Thread(target=self._export_all, daemon=True)
        thread.start()
        thread.join(None if timeout_millis is None else timeout_millis / 1000.0)
        return not thread.is_alive()

    def shutdown(self, timeout=SHUTDOWN_TIMEOUT):
        """Stop exporting; the last spans get ``timeout`` seconds at most (in a daemon thread:
        an exporter that hangs never holds the process)."""
        if self.stopped:
            return
        self.stopped = True
        self.wake.set()
        if self.pid == os.getpid() and self.queue:
            self.force_flush(timeout * 1000.0)
        try:
            self.exporter.shutdown()
        except Exception:
            _logger.debug("exporter shutdown failed", exc_info=True)


def shutdown(timeout=SHUTDOWN_TIMEOUT):
    processor = _state["processor"]
    if processor is not None and _state["pid"] == os.getpid():
        processor.shutdown(timeout)


def reset(timeout=0.5):
    """Shut this process's SDK set-up down (bounded) and forget it: the next span sets it up
    again from the configuration (tests, benchmarks)."""
    shutdown(timeout)
    _forget()
