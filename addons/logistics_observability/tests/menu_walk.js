// Walks the menus of test_menu_walk.py's plan in the web client, as a user clicking them would:
// each menu through the menu service (what a click in the navbar does), then each further view
// type of its action through the action service (the view switcher), a form through a click on
// the first record of the list. `plan` is defined before this code:
// [{menu: "Platform Health/Workflows/Runs over Time", menuId: 42, views: ["graph", "pivot"]}, ...]
// Every failure is logged with console.error (the test fails on it) and the walk goes on, so one
// run names every failing view; the last line is "test successful".
(async () => {
    const env = odoo.__WOWL_DEBUG__.root.env;
    const { action, menu } = env.services;
    const { rpcBus } = odoo.loader.modules.get("@web/core/network/rpc");
    let pending = 0;
    rpcBus.addEventListener("RPC:REQUEST", () => pending++);
    rpcBus.addEventListener("RPC:RESPONSE", () => pending--);
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const manager = () => document.querySelector(".o_action_manager");
    let walked = 0;

    async function settle() {
        // no request in flight for a while: late loads (a chart, a lazy field) have answered
        let quiet = 0;
        for (let i = 0; i < 100 && quiet < 3; i++) {
            await sleep(100);
            quiet = pending > 0 ? 0 : quiet + 1;
        }
    }

    function fail(where, message) {
        console.error(`menu walk: ${where}: ${message}`);
    }

    function describe(error) {
        // an error of a component comes wrapped (OwlError ...): its causes say what failed
        const said = [];
        for (let e = error; e && said.length < 5; e = e.cause) {
            said.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        }
        return said.join(" <- ");
    }

    function closeDialogs(where) {
        // an error dialog ("Oops!", an access error, ...) or any dialog a view should not open
        const dialogs = document.querySelectorAll(".o_dialog");
        for (const dialog of dialogs) {
            const title = dialog.querySelector(".modal-title")?.innerText || "";
            const body = dialog.querySelector(".modal-body")?.innerText || "";
            fail(where, `dialog "${title}": ${body.slice(0, 1500)}`);
            dialog.querySelector(".btn-close, .modal-footer .btn-primary")?.click();
        }
        return dialogs.length;
    }

    function checkShown(where, viewType) {
        const root = manager();
        if (viewType && !root?.querySelector(`.o_${viewType}_view`)) {
            fail(where, `the ${viewType} view is not shown`);
            return;
        }
        // the walk's database has traffic: a view showing nothing would test nothing
        if (root?.querySelector(".o_view_nocontent, .o_view_sample_data")) {
            fail(where, "shows no data (the test's traffic does not reach it)");
        }
    }

    async function step(where, viewType, run) {
        console.log(`menu walk: opening ${where}`);
        let opened = true;
        try {
            await run();
        } catch (error) {
            opened = false;
            fail(where, describe(error));
        }
        await settle();
        if (closeDialogs(where)) {
            opened = false;
        } else if (opened) {
            checkShown(where, viewType);
        }
        walked++;
        return opened;
    }

    async function show(item, viewType, fromSwitcher) {
        if (fromSwitcher) {
            await action.switchView(viewType);
        } else {
            // the menu's first view failed: its other views are opened on their own
            const actionId = menu.getMenu(item.menuId).actionID;
            await action.doAction(actionId, { viewType, clearBreadcrumbs: true });
        }
    }

    async function openFirstRecord(item, fromSwitcher) {
        const multi = item.views.find((type) => type === "list" || type === "kanban");
        if (!multi) {
            throw new Error("a form without a list or kanban view to open it from");
        }
        await show(item, multi, fromSwitcher);
        await settle();
        const first = manager().querySelector(
            ".o_data_row .o_data_cell, .o_kanban_record:not(.o_kanban_ghost)"
        );
        if (!first) {
            throw new Error(`no record in the ${multi} view to open the form of`);
        }
        first.click();
        for (let i = 0; i < 100 && !manager().querySelector(".o_form_view"); i++) {
            await sleep(100);
        }
    }

    for (const item of plan) {
        const views = item.views;
        const opened = await step(`${item.menu} [${views[0] || "client action"}]`, views[0], async () => {
            await menu.selectMenu(item.menuId);
            if (views.length) {
                const offered = action.currentController.action.views
                    .map((v) => v[1])
                    .filter((type) => type !== "search");
                if (offered.join(",") !== views.join(",")) {
                    throw new Error(`the client offers ${offered} where the server said ${views}`);
                }
            }
        });
        for (const viewType of views.slice(1)) {
            await step(`${item.menu} [${viewType}]`, viewType, () =>
                viewType === "form" ? openFirstRecord(item, opened) : show(item, viewType, opened)
            );
        }
    }
    console.log(`menu walk: ${walked} views of ${plan.length} menus opened`);
    console.log("test successful");
})();
