"""A throwaway OTLP/HTTP traces receiver for the tests and the benchmark (loopback only).

Decodes each ``POST /v1/traces`` body as the real protobuf (``opentelemetry-proto``'s
``ExportTraceServiceRequest``) and keeps the spans as dicts. ``mode``: ``ok`` answers 200,
``hang`` never answers (until stopped), ``error`` answers 503; ``count_only`` keeps only the
number of spans (the benchmark).
"""

import http.server
import threading
import time


class Receiver:
    def __init__(self, mode="ok", count_only=False):
        self.mode = mode
        self.count_only = count_only
        self.spans = []
        self.requests = 0
        self.span_count = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._received(body, dict(self.headers))
                if receiver.mode == "hang":
                    receiver.stopping.wait(60)
                    return
                code = 503 if receiver.mode == "error" else 200
                self.send_response(code)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/v1/traces" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _received(self, body, headers):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        count = 0
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                count += len(scope_spans.spans)
                if self.count_only:
                    continue
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex() or None,
                            "kind": span.kind,
                            "status": span.status.code,
                            "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                            "resource": resource,
                            "start_ns": span.start_time_unix_nano,
                            "end_ns": span.end_time_unix_nano,
                            "headers": headers,
                        }
                    )
        with self.lock:
            self.requests += 1
            self.span_count += count
            self.spans.extend(spans)

    def wait_for(self, predicate, timeout=10.0):
        """The spans once ``predicate(spans)`` holds (else the spans at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = list(self.spans)
            if predicate(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


#: OTLP span kinds (``opentelemetry.proto.trace.v1.Span.SpanKind``)
SERVER, CLIENT, INTERNAL = 2, 3, 1
STATUS_ERROR = 2
