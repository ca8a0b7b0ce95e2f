"""The SLO form's month report table (HTML, escaped by ``markupsafe``); ``_`` is the caller's
translation function."""

from markupsafe import Markup

ROW = Markup(
    "<tr><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td>"
    "<td class='text-end'>%s</td><td class='text-end'>%s</td><td class='%s'>%s</td></tr>"
)
TABLE = Markup(
    "<table class='table table-sm o_slo_month_report'><thead><tr><th>%s</th>"
    "<th class='text-end'>%s</th><th class='text-end'>%s</th><th class='text-end'>%s</th>"
    "<th class='text-end'>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
)


def month_table(_, rows):
    """``windows.month_rows`` as a table: month, events, bad, SLI, budget used, met or missed."""
    body = []
    for row in rows:
        met = row["met"]
        badge = (
            ("text-muted", _("no data"))
            if met is None
            else (("text-success", _("met")) if met else ("text-danger", _("missed")))
        )
        body.append(
            ROW
            % (
                row["month"],
                row["total"],
                row["bad"],
                "%.4f %%" % (row["sli"] * 100) if row["sli"] is not None else "-",
                "%.0f %%" % (row["budget_consumed"] * 100),
                badge[0],
                badge[1],
            )
        )
    return TABLE % (
        _("Month"),
        _("Events"),
        _("Bad"),
        _("SLI"),
        _("Budget used"),
        _("Objective"),
        Markup("").join(body),
    )
