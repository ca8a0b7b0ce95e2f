"""The metrics detail level (``observability_metrics_detail``): what a tenant's series carry.

``default``: an active tenant costs at most 100 series (docs/METRICS.md, "Series budget"). The
SLI counters, one latency histogram per workflow on the SLO grid, HTTP requests by status class
and resource attribution stay per tenant; per-cron, per-carrier, per-route and per-workflow SQL
detail is recorded without the tenant (or route) label, and the SLO gauges per window are left
out (the generated recording rules compute them).

``full`` (opt-in): every label as declared, histograms on their fine grids; a tenant costs
several hundred series, so an instance should serve far fewer tenants.

A metric declares its detail with ``detail_labels`` (blanked at the default level: Prometheus
stores no empty label, so ``sum by (tenant)`` and ``sum by (cron)`` keep working at both levels)
and, for histograms, ``full_buckets``. The level is set once, when the server reads its
configuration, before any series is recorded.
"""

DEFAULT = "default"
FULL = "full"
LEVELS = (DEFAULT, FULL)

_state = {"level": DEFAULT, "listeners": []}


def level():
    return _state["level"]


def full():
    return _state["level"] == FULL


def parse(value):
    """A level from a configuration value; ValueError naming the choices."""
    text = str(value).strip().lower()
    if text not in LEVELS:
        raise ValueError("expected one of %s" % (", ".join(LEVELS),))
    return text


def on_change(fn):
    """Call ``fn()`` whenever the level changes (the metric definitions re-bind)."""
    _state["listeners"].append(fn)


def configure(value):
    new = parse(value)
    if new == _state["level"]:
        return
    _state["level"] = new
    for fn in list(_state["listeners"]):
        fn()


def blank(values, positions):
    """``values`` with the label values at ``positions`` emptied."""
    return tuple("" if i in positions else v for i, v in enumerate(values))
