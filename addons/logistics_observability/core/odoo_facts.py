"""What the Odoo-free core knows of Odoo: names only, each checked against Odoo's source.

Core never imports Odoo, yet a few of its reads depend on names Odoo chose: attributes
Odoo sets on the serving thread, its cursor or log records, a key it leaves in a request's
environ, and tables and columns its collectors read over their own connections. They live
here, one constant each, so a new Odoo series is checked in one place:
``tests/test_odoo_facts.py`` finds every fact in the 18.0 and 19.0 source trees (and is
skipped loudly where a tree is absent). Code outside ``compat/`` (``observe.py``, the
controllers) reads Odoo's attributes through these constants too (``tests/test_architecture.py``,
``odoo-attr-read``). Everything that needs Odoo's objects (not just its names) stays in ``compat/``.
"""

import re

# --- attributes of ``threading.current_thread()`` (odoo/http.py, odoo/sql_db.py) -----------------
#: database the thread serves (set per request by ``Request._set_request_dispatcher``'s caller)
THREAD_DBNAME = "dbname"
#: user of the request (``Request._post_init`` / ``_serve_db``)
THREAD_UID = "uid"
#: SQL statements and seconds of the current request (``Cursor.execute``)
THREAD_QUERY_COUNT = "query_count"
THREAD_QUERY_TIME = "query_time"

# --- attributes of Odoo's database cursor (odoo/sql_db.py ``Cursor``; test cursors delegate) ------
#: statements executed on the cursor so far (``Cursor.execute``): a workflow's or cron run's SQL count
CURSOR_SQL_LOG_COUNT = "sql_log_count"

# --- the WSGI environ of a request (odoo/http.py, behind werkzeug's ``ProxyFix`` in proxy_mode) ----
#: werkzeug's ``ProxyFix`` keeps the environ values it rewrote (``REMOTE_ADDR``: the socket peer)
#: in this dict; Odoo applies ``ProxyFix`` in ``proxy_mode`` and keeps the key in the environ
ENVIRON_PROXY_FIX_ORIG = "werkzeug.proxy_fix.orig"

# --- werkzeug access log records (odoo/netsvc.py ``PerfFilter``) ---------------------------------
#: ``"<queries> <sql seconds> <other seconds>"`` set on every werkzeug record of a request
RECORD_PERF_INFO = "perf_info"
PERF_INFO_RE = re.compile(r"^\s*(\d{1,12})\s+([0-9.]{1,24})\s+([0-9.]{1,24})")
#: the logger of the access lines
ACCESS_LOGGER = "werkzeug"

# --- tables and columns read by the tenant collector (base and mail addons) ---------------------
#: ``ir.module.module``: ``name``, ``state`` ("installed", ...)
MODULE_TABLE = "ir_module_module"
#: ``ir.cron``: ``active``, ``nextcall`` (UTC), ``failure_count`` (consecutive failures, 17.0+)
CRON_TABLE = "ir_cron"
CRON_FAILURE_COUNT = "failure_count"
#: ``ir.model.data``: ``module``, ``name``, ``model``, ``res_id`` (a cron's xml id)
MODEL_DATA_TABLE = "ir_model_data"
#: ``mail.mail``: ``state``
MAIL_TABLE = "mail_mail"
#: OCA ``queue_job`` (not an Odoo module: not checked against Odoo's source)
QUEUE_JOB_TABLE = "queue_job"

#: every checked fact: (constant, source file, regular expression that must match in it); a file
#: under ``addons:`` is looked up in each addons directory of the tree (``odoo/addons``, ``addons``)
_Q = "[\"']"
CHECKS = (
    ("THREAD_DBNAME", "odoo/http.py", r"current_thread\(\)\.%s\s*=" % THREAD_DBNAME),
    ("THREAD_UID", "odoo/http.py", r"current_thread\(\)\.%s\s*=" % THREAD_UID),
    ("THREAD_QUERY_COUNT", "odoo/sql_db.py", r"current_thread\.%s\s*\+=\s*1" % THREAD_QUERY_COUNT),
    ("THREAD_QUERY_TIME", "odoo/sql_db.py", r"current_thread\.%s\s*\+=" % THREAD_QUERY_TIME),
    ("CURSOR_SQL_LOG_COUNT", "odoo/sql_db.py", r"\n        self\.%s \+= 1\n" % CURSOR_SQL_LOG_COUNT),
    (
        "ENVIRON_PROXY_FIX_ORIG",
        "odoo/http.py",
        r"key in \[%swsgi\.url_scheme%s, %s%s%s\]" % (_Q, _Q, _Q, re.escape(ENVIRON_PROXY_FIX_ORIG), _Q),
    ),
    ("ENVIRON_PROXY_FIX_ORIG", "odoo/http.py", r"\n\s+ProxyFix\(fake_app\)\(environ, "),
    ("RECORD_PERF_INFO", "odoo/netsvc.py", r"record\.%s = '%%s %%s %%s'" % RECORD_PERF_INFO),
    (
        "ACCESS_LOGGER",
        "odoo/netsvc.py",
        r"getLogger\(%s%s%s\)\.addFilter\(perf_filter\)" % (_Q, ACCESS_LOGGER, _Q),
    ),
    # PERF_INFO_RE reads "<int> <float .3f> <float .3f>" (PerfFilter.format_perf, uncoloured)
    (
        "PERF_INFO_RE",
        "odoo/netsvc.py",
        r'return \(("%d" % query_count|f"\{query_count:d\}"), ("%.3f" % query_time|f"\{query_time:.3f\}")',
    ),
    ("MODULE_TABLE", "addons:base/models/ir_module.py", r"_name = %sir\.module\.module%s\n" % (_Q, _Q)),
    ("CRON_TABLE", "addons:base/models/ir_cron.py", r"_name = %sir\.cron%s\n" % (_Q, _Q)),
    (
        "CRON_FAILURE_COUNT",
        "addons:base/models/ir_cron.py",
        r"\n    %s = fields\.Integer\(" % CRON_FAILURE_COUNT,
    ),
    ("MODEL_DATA_TABLE", "addons:base/models/ir_model.py", r"_name = %sir\.model\.data%s\n" % (_Q, _Q)),
    ("MAIL_TABLE", "addons:mail/models/mail_mail.py", r"_name = %smail\.mail%s\n" % (_Q, _Q)),
)
