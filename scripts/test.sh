#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/bootstrap.sh), then runs pytest over
# tests/ — lint, Odoo-free core logic, collectors against the local PostgreSQL and Redis,
# promtool on generated rules, the addons' odoo.tests suites in real databases, and end-to-end
# runs of a real Odoo server in prefork mode. Extra arguments go to pytest (e.g. -k store).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${LO_VENV:-$PWD/.venv}

bash scripts/bootstrap.sh || exit $?

missing=()
for env_file in "$VENV/odoo.env" "${LO_VENV19:-$PWD/.venv-19}/odoo.env"; do
  ODOO_FOUND=0; ODOO_SERIES=; ODOO_DETAIL="no $env_file"
  # shellcheck disable=SC1090
  [ -f "$env_file" ] && . "$env_file"
  if [ "${ODOO_FOUND:-0}" != 1 ]; then
    series=${ODOO_SERIES:-$([ "$env_file" = "$VENV/odoo.env" ] && echo 18.0 || echo 19.0)}
    missing+=("$series")
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! ODOO $series NOT FOUND: its tests will NOT run (they are reported as skipped). $ODOO_DETAIL"
    echo "!!! Set $([ "$series" = 18.0 ] && echo ODOO_SRC || echo ODOO19_SRC) to an Odoo $series source tree, or put one in /opt/odoo/$series, and re-run."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  fi
done

"$VENV/bin/python" -m pytest tests "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "no test was collected: that is a failure"
  rc=1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "!!! REMINDER: Odoo ${missing[*]} not found; every test needing it was SKIPPED, not passed."
fi
exit $rc
