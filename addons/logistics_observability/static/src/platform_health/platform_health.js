/** @odoo-module **/
import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const REFRESH_MS = 60000;
const SPARK_W = 160;
const SPARK_H = 28;

/** SVG path of hourly ``values`` (oldest first); a ``null`` hour breaks the line. */
export function sparklinePath(values, floor = 1) {
    const known = values.filter((v) => v !== null && v !== undefined);
    const top = Math.max(floor, ...known);
    const step = values.length > 1 ? SPARK_W / (values.length - 1) : 0;
    let path = "";
    let pen = false;
    values.forEach((v, i) => {
        if (v === null || v === undefined) {
            pen = false;
            return;
        }
        const x = (i * step).toFixed(1);
        const y = (SPARK_H - 2 - (v / top) * (SPARK_H - 4)).toFixed(1);
        path += `${pen ? "L" : "M"}${x} ${y} `;
        pen = true;
    });
    return path.trim();
}

export class PlatformHealth extends Component {
    static template = "logistics_observability.PlatformHealth";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ dashboard: null, loading: true, error: null });
        onWillStart(() => this.load());
        this.timer = setInterval(() => this.load(), REFRESH_MS);
        onWillUnmount(() => clearInterval(this.timer));
    }

    async load() {
        this.state.loading = true;
        try {
            this.state.dashboard = await this.orm.call("logistics.platform.health", "get_dashboard", []);
            this.state.error = null;
        } catch (error) {
            this.state.error = error.message || String(error);
        }
        this.state.loading = false;
    }

    sparkline(values, floor = 1) {
        return sparklinePath(values, floor);
    }

    points(values) {
        return values.map((v) => (v === null ? "" : v)).join(",");
    }

    percent(value) {
        return `${(100 * value).toFixed(1)}%`;
    }

    get queueTrends() {
        const queue = this.state.dashboard.trends.queue;
        return [
            { key: "jobs_waiting", label: "Jobs waiting", values: queue.jobs_waiting },
            { key: "mails_outgoing", label: "Outgoing mails", values: queue.mails_outgoing },
            { key: "crons_due", label: "Scheduled actions due", values: queue.crons_due },
        ];
    }

    stateLabel(state) {
        return { pass: "Pass", warn: "Warning", fail: "Failing" }[state] || state;
    }

    async openCard(card) {
        if (card.menu) {
            await this.action.doAction(card.menu);
        }
    }
}

registry.category("actions").add("logistics_observability.platform_health", PlatformHealth);
