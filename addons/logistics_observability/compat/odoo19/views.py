"""Odoo 19.0: what the web client accepts in the views the models hand it."""

#: Intervals 19.0's web client groups a date or datetime field by, finest last: its views accept
#: ``hour`` too (``web/static/src/search/utils/group_by.js`` checks ``BACKEND_INTERVAL_OPTIONS``
#: of ``dates.js``), which its search panel does not offer.
DATE_INTERVALS = ("year", "quarter", "month", "week", "day", "hour")
