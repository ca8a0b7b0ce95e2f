from prometheus_client.parser import text_string_to_metric_families

from odoo.addons.logistics_observability.core import detail
from odoo.tests import HttpCase, tagged


def _samples(text):
    """Samples by name and labels; an empty label is no label (as Prometheus stores it)."""
    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if v))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


@tagged("post_install", "-at_install")
class TestMetricsController(HttpCase):
    def _metrics_route_count(self):
        """The tenant's answered requests, and the answered requests of the route (per tenant and
        route at the full detail level; per tenant, and per route without tenant, by default)."""
        response = self.url_open("/metrics")
        self.assertEqual(response.status_code, 200)
        got = _samples(response.text)
        db = self.env.cr.dbname
        if detail.full():
            key = (("method", "GET"), ("route", "/metrics"), ("status", "2xx"), ("tenant", db))
            tenant = route = got.get(("odoo_http_requests_total", key), 0.0)
        else:
            tenant = got.get(("odoo_http_requests_total", (("status", "2xx"), ("tenant", db))), 0.0)
            key = ("odoo_http_request_duration_seconds_count", (("method", "GET"), ("route", "/metrics")))
            route = got.get(key, 0.0)
        return (tenant, route), response

    def test_metrics_endpoint(self):
        before, response = self._metrics_route_count()
        self.assertEqual(response.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertIn("odoo_build_info{", response.text)
        after, _response = self._metrics_route_count()
        # the previous scrape was counted once it had answered
        self.assertEqual(after, (before[0] + 1, before[1] + 1))

    def test_metrics_endpoint_full_detail(self):
        detail.configure(detail.FULL)
        self.addCleanup(detail.configure, detail.DEFAULT)
        self.test_metrics_endpoint()

    def test_metrics_refuses_forwarded_requests(self):
        response = self.url_open("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(response.status_code, 403)

    def test_openmetrics_on_request(self):
        response = self.url_open("/metrics", headers={"Accept": "application/openmetrics-text"})
        self.assertTrue(response.headers["Content-Type"].startswith("application/openmetrics-text"))
        self.assertTrue(response.text.endswith("# EOF\n"))

    def test_health_endpoints_and_correlation_headers(self):
        trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        response = self.url_open("/health/live", headers={"X-Request-Id": "req-42", "traceparent": trace})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "pass"})
        self.assertEqual(response.headers["X-Request-Id"], "req-42")
        self.assertTrue(response.headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-"))
        response = self.url_open("/health/ready")
        self.assertEqual(response.headers["Content-Type"], "application/health+json")
        body = response.json()
        self.assertEqual(body["checks"]["postgres"][0]["status"], "pass")
        self.assertIn(body["status"], ("pass", "warn", "fail"))
        self.assertEqual(response.status_code, 503 if body["status"] == "fail" else 200)
