"""Odoo 18.0: what the web client accepts in the views the models hand it."""

#: Intervals 18.0's web client groups a date or datetime field by, finest last: a graph or pivot
#: asking for another one (``minute:hour``) stops with "Invalid groupBy description"
#: (``web/static/src/search/utils/group_by.js`` checks ``INTERVAL_OPTIONS`` of ``dates.js``).
DATE_INTERVALS = ("year", "quarter", "month", "week", "day")
