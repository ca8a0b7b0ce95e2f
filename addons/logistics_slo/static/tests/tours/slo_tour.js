/** @odoo-module */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("logistics_slo_form", {
    url: "/odoo/action-logistics_slo.action_logistics_slo",
    steps: () => [
        {
            content: "SLO list lowest budget first, exhausted one coloured as danger",
            trigger: ".o_list_view tr.o_data_row.text-danger:first-child td:contains('Tour dispatch')",
            run: "click",
        },
        {
            content: "Burn-rate chart with the four alert tiers",
            trigger: ".o_slo_chart_burn svg text:contains('page 1h/5m 13.44')",
        },
        {
            content: "Daily SLI chart drawn",
            trigger: ".o_slo_chart_sli svg circle.o_slo_point",
        },
        {
            content: "Open the calendar months",
            trigger: "a.nav-link:contains('Calendar months')",
            run: "click",
        },
        {
            content: "Month report rows",
            trigger: ".o_slo_month_report td.text-danger:contains('missed')",
        },
    ],
});
