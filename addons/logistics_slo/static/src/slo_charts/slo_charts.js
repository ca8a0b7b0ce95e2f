/** @odoo-module **/
import { Component, onWillStart, onWillUpdateProps, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

const W = 560;
const H = 180;
const PAD = 36;

function scale(value, lo, hi, outLo, outHi) {
    if (hi === lo) {
        return outLo;
    }
    return outLo + ((value - lo) / (hi - lo)) * (outHi - outLo);
}

export class SloCharts extends Component {
    static template = "logistics_slo.SloCharts";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.state = useState({ data: null });
        onWillStart(() => this.load(this.props));
        onWillUpdateProps((next) => this.load(next));
    }

    async load(props) {
        const id = props.record.resId;
        this.state.data = id
            ? await this.orm.call("logistics.slo", "get_chart_data", [[id]])
            : null;
    }

    get width() {
        return W;
    }
    get height() {
        return H;
    }

    coords(points, lo, hi) {
        const n = points.length;
        return points
            .map((p, i) => (p === null ? null : [
                scale(i, 0, Math.max(n - 1, 1), PAD, W - 8),
                scale(p, lo, hi, H - 20, 10),
            ]))
            .filter((p) => p);
    }

    line(points, lo, hi) {
        return this.coords(points, lo, hi)
            .map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`)
            .join(" ");
    }

    dots(points, lo, hi) {
        return this.coords(points, lo, hi).map((p, i) => ({
            key: i, cx: p[0].toFixed(1), cy: p[1].toFixed(1),
        }));
    }

    y(value, lo, hi) {
        return scale(value, lo, hi, H - 20, 10).toFixed(1);
    }

    get sliChart() {
        const d = this.state.data;
        const values = d.daily.map((r) => r.sli);
        const known = values.filter((v) => v !== null);
        const lo = Math.min(d.objective - (1 - d.objective), ...known, 1);
        return {
            lo,
            path: this.line(values, lo, 1),
            dots: this.dots(values, lo, 1),
            objectiveY: this.y(d.objective, lo, 1),
            labels: [d.daily[0]?.day, d.daily[d.daily.length - 1]?.day],
            objective: (d.objective * 100).toFixed(3) + " %",
            loLabel: (lo * 100).toFixed(2) + " %",
        };
    }

    get budgetChart() {
        const d = this.state.data;
        const values = d.daily.map((r) => r.budget_remaining);
        const lo = Math.min(0, ...values);
        return {
            path: this.line(values, lo, 1),
            zeroY: this.y(0, lo, 1),
            loLabel: (lo * 100).toFixed(0) + " %",
            now: (d.budget_remaining * 100).toFixed(1) + " %",
        };
    }

    get burnChart() {
        const d = this.state.data;
        const rates = d.burn.map((b) => b.burn_rate || 0);
        const hi = Math.max(1.2 * Math.max(...d.tiers.map((t) => t.factor)), ...rates, 1);
        const n = d.burn.length;
        const band = (W - PAD - 8) / n;
        const bars = d.burn.map((b, i) => {
            const v = b.burn_rate || 0;
            const tier = d.tiers.find((t) => t.long === b.window || t.short === b.window);
            const over = d.tiers.some(
                (t) => (t.long === b.window || t.short === b.window) && v > t.factor
            );
            return {
                key: b.window,
                x: (PAD + i * band + band * 0.15).toFixed(1),
                w: (band * 0.7).toFixed(1),
                y: this.y(v, 0, hi),
                h: (H - 20 - this.y(v, 0, hi)).toFixed(1),
                label: b.window,
                value: b.burn_rate === null ? "-" : v.toFixed(2),
                cls: over ? "fill-danger" : tier ? "fill-primary" : "fill-secondary",
                lx: (PAD + i * band + band / 2).toFixed(1),
            };
        });
        const tiers = d.tiers.map((t) => ({
            key: t.tier,
            y: this.y(t.factor, 0, hi),
            label: `${t.severity} ${t.long}/${t.short} ${t.factor.toFixed(2)}×`,
            cls: t.severity === "page" ? "stroke-danger" : "stroke-warning",
        }));
        return { bars, tiers };
    }
}

registry.category("view_widgets").add("logistics_slo_charts", { component: SloCharts });
