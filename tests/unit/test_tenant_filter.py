"""Which databases are tenants (``dbfilter``, ``db_name``, ``observability_tenant_exclude``), without a
database (the collector against real tenants: tests/odoo/test_collectors_tenant.py)."""

from logistics_observability.core.collectors import tenant


def test_db_filter():
    names = ["a1", "a2", "b1"]
    assert tenant.db_filter(names) == names
    assert tenant.db_filter(names, db_names=["a2", " b1", ""]) == ["a2", "b1"]
    assert tenant.db_filter(names, dbfilter="^a") == ["a1", "a2"]
    assert tenant.db_filter(names, dbfilter="^%d$") == names  # host-dependent: cannot exclude


def test_tenant_definition_by_dbfilter_and_exclude():
    names = ["demo_alpha", "demo_bravo", "demo_template", "lotest_x_1", "a.b", "postgres_copy"]
    # a host-dependent dbfilter keeps what some host could select, drops the rest
    assert tenant.db_filter(names, dbfilter="^demo_%d$") == ["demo_alpha", "demo_bravo", "demo_template"]
    assert tenant.db_filter(names, dbfilter="^%h$") == names
    assert tenant.db_filter(names, dbfilter="^%d$") == [n for n in names if "." not in n]
    # the suite's own pattern drops served databases that are no tenants
    assert tenant.db_filter(names, dbfilter="^demo_%d$", exclude="demo_template$") == [
        "demo_alpha",
        "demo_bravo",
    ]
    assert tenant.db_filter(names, exclude="lotest_|demo_template") == [
        "demo_alpha",
        "demo_bravo",
        "a.b",
        "postgres_copy",
    ]
    assert tenant.db_filter(names, dbfilter="^(demo_%d") == names, "a broken dbfilter excludes nothing"


def test_tenant_exclude_option_is_validated():
    from logistics_observability.core import config

    cfg = config.load({"observability_tenant_exclude": "^(lotest_|staging_)"}, environ={})
    assert cfg.tenant_exclude.match("staging_acme") and not cfg.tenant_exclude.match("acme")
    cfg = config.load({}, environ={"ODOO_OBSERVABILITY_TENANT_EXCLUDE": "^tpl_"})
    assert cfg.tenant_exclude.pattern == "^tpl_"
    cfg = config.load({"observability_tenant_exclude": "(unclosed"}, environ={})
    assert cfg.tenant_exclude is None
    assert "not a regular expression" in cfg.errors["observability_tenant_exclude"]
