"""Field names that differ between Odoo 18.0 and 19.0, for the tests (one source for both)."""


def user_groups(env):
    """A user's groups: ``groups_id`` (18.0), ``group_ids`` (19.0); menus and actions likewise."""
    return "group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"


def group_users(env):
    """A group's explicit members: ``users`` (18.0), ``user_ids`` (19.0)."""
    return "user_ids" if "user_ids" in env["res.groups"]._fields else "users"
