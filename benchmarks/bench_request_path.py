#!/usr/bin/env python3
"""The suite's CPU time per request, measured inside real Odoo requests; prints its figures.

Odoo's WSGI application (``odoo.http.root``) runs in-process, called with werkzeug's
``EnvironBuilder`` (no socket, no server loop), in two builds, each in its own process:

- ``plain``: Odoo alone (``server_wide_modules`` base,web; 19.0: base,rpc,web);
- ``suite``: the suite loaded server-wide (base,web,logistics_observability), its hooks
  installed by its ``post_load`` as in a threaded server process (text logs unless ``--json``).

Both serve a throwaway database cloned from a template holding Odoo's base and web (the suite is
not installed in it: plain Odoo). For each route, a turn is ``--requests`` requests in one
build; turns alternate between the builds (the order flips every turn) so both meet the same
machine load. Each turn's figure is the process CPU time (``time.process_time``: user + system,
every thread) per request; a route's result is the median and p90 over ``--turns`` turns of
each build, the suite's cost (median suite - median plain, and the median over turns of the
difference within a turn) in µs and the ratio suite/plain. The target counts as met when both
figures are within it. On a loaded machine these whole-request figures carry tens of µs of noise
(``--control`` shows how much); the ``hooks`` column is steadier: both builds time Odoo's own
``Application.__call__`` from inside whatever wraps it, and the CPU time spent outside it (the
suite's WSGI hook, its response headers) is compared; the suite's work inside Odoo's call
(route and database notes) is in the whole-request figures only.

Routes: ``jsonrpc`` (``/jsonrpc`` ``object.execute_kw`` ``res.partner`` ``read`` of one record in
the database), ``login`` (``GET /web/login``), ``health`` (``GET /web/health``). Target: the
suite costs <= 50 µs per request on each.

    .venv/bin/python benchmarks/bench_request_path.py \\
        [--series 18.0|19.0] [--turns 30] [--requests 50] [--routes jsonrpc,login,health] [--json] \\
        [--compare OLD_ADDONS_DIR] [--control] [--tracing]

``--compare DIR`` adds a third build, the suite from another addons folder (before/after in one
run: ``git archive HEAD~1 addons | tar -x -C /tmp/old``, then ``--compare /tmp/old/addons``);
``--control`` a second plain build, whose "cost" is the noise of the measurement.
``--tracing`` adds the suite with OpenTelemetry traces on at the default ratio (``trace``) and at
1.0 (``trace1``), each exporting to a throwaway OTLP/HTTP receiver on loopback (run by this
process, so the child's CPU includes its export thread's encoding and sending), and reports
their cost against the suite with tracing off (targets: ``trace`` <= 25 µs and <= 1.02x,
``trace1`` <= 1.10x); with ``--control`` also a second suite build (``suiteB``), the A/A control.

Run it with the Python of the series' virtualenv (``LO_VENV`` / ``LO_VENV19``, as the tests);
it needs PostgreSQL and builds the template database once (``tests/odoo_harness.py``). The run
time is bounded by ``--turns`` x ``--requests`` (about a minute with the defaults).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ("jsonrpc", "login", "health")
TARGET_US = 50.0
TRACING_TARGET_US = 25.0


# ---------------------------------------------------------------------------
# child: one build of Odoo, serving requests on command


def _child(args):
    tmp = Path(tempfile.mkdtemp(prefix="bench-reqpath-%s-" % args.child))
    series = int(args.series.split(".")[0])
    suite = args.child in ("suite", "trace")
    if suite:
        load = "base,web,logistics_observability"
    else:
        load = "base,rpc,web" if series >= 19 else "base,web"
    conf = tmp / "odoo.conf"
    lines = [
        "[options]",
        "addons_path = %s" % args.addons_path,
        "db_host = %s" % args.db_host,
        "db_port = %s" % args.db_port,
        "db_user = %s" % args.db_user,
        "db_name = %s" % args.db,
        "data_dir = %s" % (tmp / "data"),
        "server_wide_modules = %s" % load,
        "log_level = warn",
        "max_cron_threads = 0",
        "list_db = False",
        "http_interface = 127.0.0.1",
        # 19.0 warns on every /jsonrpc call (deprecated endpoint): a log line per request in both builds
        "log_handler = odoo.addons.rpc.controllers.jsonrpc:ERROR",
    ]
    if suite:
        lines.append("observability_metrics_dir = %s" % (tmp / "metrics"))
        lines.append("observability_log_format = %s" % ("json" if args.json else "text"))
    if args.child == "trace":
        lines.append("observability_tracing = True")
        lines.append("observability_tracing_ratio = %s" % args.tracing_ratio)
        lines.append("observability_otlp_endpoint = %s" % args.otlp_endpoint)
    if args.json:
        lines.append("logfile = %s" % (tmp / "odoo.log"))
    conf.write_text("\n".join(lines) + "\n")
    for key in list(os.environ):
        if key.startswith("PG") or key.startswith("ODOO_OBSERVABILITY"):
            del os.environ[key]

    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # Odoo's own, once per call site
    from werkzeug.test import EnvironBuilder

    import odoo
    from odoo.service import server

    odoo.tools.config.parse_config(["-c", str(conf)])
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the parse set Odoo's filters
    # Odoo's own WSGI call, timed inside whatever wraps it (the suite's hook wraps this shim; the
    # plain build has the same shim): "hooks" is the CPU time spent outside it, start_response
    # (the suite's response headers) included
    clock = time.process_time
    inside = [0.0]
    odoo_call = odoo.http.Application.__call__

    def timed_call(self, environ, start_response):
        begin = clock()
        in_start = [0.0]

        def timed_start_response(*args):
            t = clock()
            try:
                return start_response(*args)
            finally:
                in_start[0] += clock() - t

        try:
            return odoo_call(self, environ, timed_start_response)
        finally:
            inside[0] += clock() - begin - in_start[0]

    odoo.http.Application.__call__ = timed_call
    server.load_server_wide_modules()
    if suite:
        from odoo.addons.logistics_observability.compat import server as lo_server
        from odoo.addons.logistics_observability.core import server_metrics

        lo_server._on_start(False)  # what ThreadedServer.run's hook does: claim the metrics directory
        server_metrics.set_process_type("http")
    app = odoo.http.root

    rpc = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {
            "service": "object",
            "method": "execute_kw",
            "args": [args.db, 2, "admin", "res.partner", "read", [[1]], {"fields": ["name"]}],
        },
    }
    body = json.dumps(rpc).encode()
    specs = {
        "jsonrpc": {"path": "/jsonrpc", "method": "POST", "data": body, "content_type": "application/json"},
        "login": {"path": "/web/login", "method": "GET"},
        "health": {"path": "/web/health", "method": "GET"},
    }
    base = {"base_url": "http://localhost:8069", "headers": {"Host": "localhost:8069"}}
    statuses = {}

    def start_response(status, headers, exc_info=None):
        statuses["last"] = status
        return lambda data: None

    def serve(route):
        environ = EnvironBuilder(**base, **specs[route]).get_environ()
        result = app(environ, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return statuses["last"]

    for route in ROUTES:  # warm up: registry, routing maps, templates, caches
        for _ in range(20):
            status = serve(route)
        if not status.startswith("200"):
            sys.stderr.write("%s %s answered %s\n" % (args.child, route, status))
            sys.exit(2)
    print("ready", flush=True)
    for line in sys.stdin:
        route, n = line.split()
        n = int(n)
        environs = [EnvironBuilder(**base, **specs[route]).get_environ() for _ in range(n)]
        inside[0] = 0.0
        start = time.process_time()
        for environ in environs:
            result = app(environ, start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        used = time.process_time() - start
        answer = {"cpu": used, "outside": used - inside[0], "n": n, "status": statuses["last"]}
        print(json.dumps(answer), flush=True)


# ---------------------------------------------------------------------------
# parent: the database, the two builds, interleaved turns


def _p90(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default="18.0", choices=("18.0", "19.0"))
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--json", action="store_true", help="the suite builds log in JSON (default: text)")
    parser.add_argument(
        "--compare",
        metavar="ADDONS_DIR",
        help="a third build: the suite from another addons folder (e.g. the previous commit's, "
        "extracted with git archive), in the same interleaved turns",
    )
    parser.add_argument(
        "--control", action="store_true", help="a second plain build: its 'cost' is the measurement's noise"
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="two more builds, the suite with OpenTelemetry traces on at the default ratio (trace) and at "
        "1.0 (trace1), exporting to a throwaway OTLP/HTTP receiver on loopback; with --control, a "
        "second suite build (suiteB) whose cost against suite is the noise",
    )
    parser.add_argument("--child", choices=("plain", "suite", "trace"), help=argparse.SUPPRESS)
    parser.add_argument("--tracing-ratio", default="0.1", help=argparse.SUPPRESS)
    parser.add_argument("--otlp-endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--addons-path", help=argparse.SUPPRESS)
    parser.add_argument("--db-host", help=argparse.SUPPRESS)
    parser.add_argument("--db-port", help=argparse.SUPPRESS)
    parser.add_argument("--db-user", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    sys.path.insert(0, str(ROOT / "tests"))
    import odoo_harness

    odoo_harness.use_series(args.series)
    found, detail = odoo_harness.odoo_status()
    if not found:
        print("SKIPPED: %s" % detail)
        return 1
    routes = [r for r in args.routes.split(",") if r]
    builds = [("plain", "plain", odoo_harness.addons_path()), ("suite", "suite", odoo_harness.addons_path())]
    if args.compare:
        builds.append(("compare", "suite", str(Path(args.compare).resolve())))
    if args.control:
        builds.append(("control", "plain", odoo_harness.addons_path()))
    receiver = None
    if args.tracing:
        from otlp_receiver import Receiver

        receiver = Receiver(count_only=True).__enter__()
        import core_packages  # noqa: F401  (the addons' core as logistics_observability.core)

        from logistics_observability.core import config as lo_config

        default_ratio = lo_config.KEYS["observability_tracing_ratio"][1]
        builds.append(("trace", "trace", odoo_harness.addons_path(), default_ratio))
        builds.append(("trace1", "trace", odoo_harness.addons_path(), 1.0))
        if args.control:
            builds.append(("suiteB", "suite", odoo_harness.addons_path()))
    template = odoo_harness.template_db(["base", "web"], with_addons=False)
    db = odoo_harness.clone_db(template, "%sbench_reqpath_%d" % (odoo_harness.DB_PREFIX, os.getpid()))
    python = str(odoo_harness.odoo_venv() / "bin" / "python")
    common = [
        "--series=" + args.series,
        "--db=" + db,
        "--db-host=" + odoo_harness.PG["host"],
        "--db-port=%s" % odoo_harness.PG["port"],
        "--db-user=" + odoo_harness.PG["user"],
    ] + (["--json"] if args.json else [])
    env = {k: v for k, v in os.environ.items() if k not in odoo_harness.PG_ENV}
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts in every build
    procs = {}
    try:
        for name, kind, addons, *ratio in builds:
            tracing_args = (
                ["--tracing-ratio=%s" % ratio[0], "--otlp-endpoint=" + receiver.url] if ratio else []
            )
            procs[name] = subprocess.Popen(
                [python, __file__, "--child=" + kind, "--addons-path=" + addons, *common, *tracing_args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=str(ROOT),
            )
        for name, proc in procs.items():
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError("the %s build did not start (%r)" % (name, line))
        names = [build[0] for build in builds]
        per = {(name, route): [] for name in names for route in routes}
        outside = {(name, route): [] for name in names for route in routes}
        paired = {(name, route): [] for name in names for route in routes}
        print(
            "== Odoo %s in-process, builds %s: %d turns of %d requests per route and build, interleaved "
            "(CPU time) ==" % (args.series, ", ".join(names), args.turns, args.requests),
            flush=True,
        )
        for turn in range(args.turns):
            for r, route in enumerate(routes):
                shift = (turn + r) % len(names)
                for name in names[shift:] + names[:shift]:  # every build takes every place in turn
                    proc = procs[name]
                    proc.stdin.write("%s %d\n" % (route, args.requests))
                    proc.stdin.flush()
                    answer = json.loads(proc.stdout.readline())
                    if not answer["status"].startswith("200"):
                        raise RuntimeError("%s %s answered %s" % (name, route, answer["status"]))
                    per[(name, route)].append(answer["cpu"] / answer["n"] * 1e6)
                    outside[(name, route)].append(answer["outside"] / answer["n"] * 1e6)
                for name in names:
                    paired[(name, route)].append(per[(name, route)][-1] - per[("plain", route)][-1])
        missed = []
        print(
            "%-8s %-8s %12s %12s %12s %12s %12s %8s"
            % ("route", "build", "median", "p90", "cost", "paired cost", "hooks", "ratio")
        )
        for route in routes:
            pm = statistics.median(per[("plain", route)])
            om = statistics.median(outside[("plain", route)])
            for name in names:
                values = per[(name, route)]
                med = statistics.median(values)
                cost = med - pm
                pair = statistics.median(paired[(name, route)])
                if name == "suite" and max(cost, pair) > TARGET_US:
                    missed.append(route)
                hooks = statistics.median(outside[(name, route)]) - om
                print(
                    "%-8s %-8s %9.1f us %9.1f us %9.1f us %9.1f us %9.1f us %8.3f"
                    % (route, name, med, _p90(values), cost, pair, hooks, med / pm)
                )
        print(
            "turns: %d x %d requests per route and build. cost: median of the build - median of plain; "
            "paired cost: median over turns of (build - plain) in the same turn; hooks: CPU time outside "
            "Odoo's own WSGI call (the suite's WSGI hook and response headers), minus plain's; ratio: "
            "median / plain's" % (args.turns, args.requests)
        )
        print(
            "target: the suite costs <= %g us per request on each route: %s"
            % (TARGET_US, "met" if not missed else "MISSED on " + ", ".join(missed))
        )
        if args.tracing:
            _tracing_report(routes, names, per, receiver)
        return 0
    finally:
        for proc in procs.values():
            try:
                proc.stdin.close()
                proc.wait(timeout=30)
            except Exception:
                proc.kill()
        odoo_harness.drop_db(db)
        if receiver is not None:
            receiver.stop()


def _tracing_report(routes, names, per, receiver):
    """Tracing's cost: each tracing build (and the A/A control suiteB) against the suite with
    tracing off, median over turns of the difference within a turn, and the ratio of medians."""
    print("== tracing (against suite, tracing off) ==")
    print("%-8s %-8s %12s %12s %8s" % ("route", "build", "cost", "paired cost", "ratio"))
    missed = []
    for route in routes:
        base = per[("suite", route)]
        for name in ("trace", "trace1", "suiteB"):
            if name not in names:
                continue
            values = per[(name, route)]
            cost = statistics.median(values) - statistics.median(base)
            pair = statistics.median([v - b for v, b in zip(values, base, strict=True)])
            ratio = statistics.median(values) / statistics.median(base)
            target = {"trace": (TRACING_TARGET_US, 1.02), "trace1": (None, 1.10)}.get(name)
            if target and ((target[0] is not None and max(cost, pair) > target[0]) or ratio > target[1]):
                missed.append("%s/%s" % (name, route))
            print("%-8s %-8s %9.1f us %9.1f us %8.3f" % (route, name, cost, pair, ratio))
    print("spans received by the OTLP receiver: %d in %d exports" % (receiver.span_count, receiver.requests))
    print(
        "targets: trace (default ratio) <= %g us and <= 1.02x, trace1 (ratio 1.0) <= 1.10x: %s"
        % (TRACING_TARGET_US, "met" if not missed else "MISSED on " + ", ".join(missed))
    )


if __name__ == "__main__":
    sys.exit(main())
