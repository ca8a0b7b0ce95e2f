#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/bootstrap.sh), then runs pytest over
# tests/, in three tiers (docs/DESIGN.md, "Test tiers"): tests/unit (lint, Odoo-free core logic,
# promtool on generated rules, deploy artefacts offline), tests/services (collectors against the
# local PostgreSQL and Redis) and tests/odoo (the addons' odoo.tests suites in real databases, and
# end-to-end runs of a real Odoo server in prefork mode). Extra arguments go to pytest (e.g.
# -k store); arguments naming tests (tests/unit, tests/odoo/test_e2e_reload.py) replace tests/:
# the fast lane is `scripts/test.sh tests/unit` (or -m "not odoo": no test that starts Odoo).
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

# pytest's paths: those among the arguments (e.g. tests/unit), else all of tests/
paths=(tests)
for arg in "$@"; do
  case $arg in tests | tests/* | ./tests | ./tests/*) paths=(); break ;; esac
done
"$VENV/bin/python" -m pytest ${paths[@]+"${paths[@]}"} "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "no test was collected: that is a failure"
  rc=1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "!!! REMINDER: Odoo ${missing[*]} not found; every test needing it was SKIPPED, not passed."
fi
exit $rc
