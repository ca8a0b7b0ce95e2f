from odoo import http
from odoo.http import request

from ..core import rules as core_rules
from ..core import slo_math

FILES = {
    "rules": ("logistics_slo_rules.yml", "application/yaml"),
    "tests": ("logistics_slo_rules_test.yml", "application/yaml"),
    "openslo": ("logistics_slo_openslo.yml", "application/yaml"),
    "alertmanager": ("logistics_slo_alertmanager_inhibit.yml", "application/yaml"),
}


class SloDownload(http.Controller):
    @http.route("/logistics_slo/download/<string:kind>", type="http", auth="user", methods=["GET"])
    def download(self, kind, **_kwargs):
        if kind not in FILES:
            raise request.not_found()
        if not request.env.user.has_group("logistics_observability.group_observability_viewer"):
            return request.make_response("Forbidden", status=403)
        slos = request.env["logistics.slo"]
        try:
            if kind == "rules":
                body = slos.export_rules()[0]
            elif kind == "tests":
                body = slos.export_rules()[1]
            elif kind == "openslo":
                body = slos.export_openslo()
            else:
                body = core_rules.render_alertmanager_inhibition()
        except slo_math.SloDefinitionError as exc:
            return request.make_response(
                str(exc), headers=[("Content-Type", "text/plain; charset=utf-8")], status=409
            )
        filename, ctype = FILES[kind]
        return request.make_response(
            body,
            headers=[
                ("Content-Type", ctype + "; charset=utf-8"),
                ("Content-Disposition", 'attachment; filename="%s"' % filename),
            ],
        )
