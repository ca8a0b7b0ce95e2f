/** @odoo-module **/
import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const REFRESH_MS = 60000;

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
