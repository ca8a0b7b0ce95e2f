#!/bin/bash
# Reads secrets from files (Docker/Kubernetes secrets) into the environment, waits for
# PostgreSQL, then runs Odoo with $ODOO_RC through the addon's launcher (logs in the configured
# format from the first line). The database password goes to libpq through
# PGPASSWORD, so it never appears on a command line.
set -euo pipefail

read_secret() {  # VAR: export VAR from the file named by VAR_FILE, when set
    local file_var="${1}_FILE"
    if [ -n "${!file_var:-}" ]; then
        [ -r "${!file_var}" ] || { echo "entrypoint: cannot read ${file_var}=${!file_var}" >&2; exit 2; }
        export "$1"="$(tr -d '\r\n' < "${!file_var}")"
    fi
}
read_secret PGPASSWORD
read_secret ODOO_OBSERVABILITY_METRICS_TOKEN

wait_for_postgres() {
    python3 - <<'PY'
import configparser, os, sys, time
import psycopg2
conf = configparser.ConfigParser()
conf.read(os.environ.get("ODOO_RC", "/etc/odoo/odoo.conf"))
opts = conf["options"] if conf.has_section("options") else {}
args = {"dbname": "postgres", "connect_timeout": 3,
        "host": os.environ.get("PGHOST") or opts.get("db_host", "postgres"),
        "port": os.environ.get("PGPORT") or opts.get("db_port", "5432"),
        "user": os.environ.get("PGUSER") or opts.get("db_user", "odoo")}
deadline = time.time() + int(os.environ.get("WAIT_FOR_POSTGRES_SECONDS", "60"))
while True:
    try:
        psycopg2.connect(**args).close()
        break
    except psycopg2.OperationalError as exc:
        if time.time() > deadline:
            sys.exit("entrypoint: PostgreSQL %s:%s not reachable: %s" % (args["host"], args["port"], exc))
        time.sleep(1)
PY
}

addons_path() {  # the configuration's addons_path: the launcher must be found before -c is read
    python3 - <<'PY'
import configparser, os
conf = configparser.ConfigParser()
conf.read(os.environ.get("ODOO_RC", "/etc/odoo/odoo.conf"))
print(conf.get("options", "addons_path", fallback="/mnt/extra-addons"))
PY
}

if [ "${1:-odoo}" = "odoo" ] || [ "${1:0:1}" = "-" ]; then
    [ "${1:-}" = "odoo" ] && shift
    wait_for_postgres
    # observability_server: Odoo's server with the configured (JSON) log format from the first line
    exec odoo --addons-path="$(addons_path)" observability_server "$@"
fi
exec "$@"
