#!/usr/bin/env bash
# Installs everything the project needs on a Debian machine (idempotent):
#   - Debian packages: Prometheus/promtool, Alertmanager/amtool, the PostgreSQL, Redis and blackbox
#     exporters (end-to-end monitoring test, demo), nginx (the demo's reverse proxy), Chromium
#     (browser tests), victoria-metrics (VictoriaMetrics, vmagent, vmalert: the fleet's end-to-end
#     test and DEMO_FLEET=1)
#   - a virtual environment (.venv, or $LO_VENV) with the addons' and the tools' requirements
#   - each supported Odoo series in a virtual environment of its own: 18.0 in .venv ($LO_VENV),
#     19.0 in .venv-19 ($LO_VENV19). Each is found in this order:
#       1. a source tree named by $ODOO_SRC (18.0) / $ODOO19_SRC (19.0): used as is, a wrong path
#          is an error;
#       2. an Odoo of that series already importable by the virtualenv's Python (pip-installed);
#       3. the source tree in the default place, /opt/odoo/18.0 / /opt/odoo/19.0
#          ($ODOO_DEFAULT_SRC / $ODOO19_DEFAULT_SRC): its Python dependencies are installed from
#          requirements-odoo.txt / requirements-odoo19.txt (pinned for Python 3.11) and
#          <venv>/bin/odoo runs its odoo-bin;
#       4. pip install from Odoo's official repository ($ODOO_GIT_URL / $ODOO19_GIT_URL), where the
#          network allows.
#     ODOO_SERIES="18.0 19.0" (the default) names the series to set up.
# Writes <venv>/odoo.env per series describing the Odoo found (ODOO_FOUND=1|0 and why); a series
# not found is reported loudly and its tests are skipped, the others still run.
# Exit codes: 0 ok (even without Odoo, unless ODOO_REQUIRED=1), 2 bad input (e.g. a wrong ODOO_SRC).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${LO_VENV:-$ROOT/.venv}
TOOLS_VENV=$VENV
SERIES_LIST=${ODOO_SERIES:-18.0 19.0}

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit "${2:-2}"; }

apt_install() {
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  local exporter
  for exporter in prometheus-postgres-exporter prometheus-redis-exporter prometheus-blackbox-exporter; do
    command -v "$exporter" >/dev/null 2>&1 || missing+=("$exporter")
  done
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)  # offline compose validation
  PATH=$PATH:/usr/sbin command -v nginx >/dev/null 2>&1 || missing+=(nginx)  # the demo's reverse proxy
  command -v vmalert >/dev/null 2>&1 || missing+=(victoria-metrics)  # the fleet: vmagent, vmalert, VM
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "WARNING: missing ${missing[*]} and no root apt-get here; tests needing them will be skipped"
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || log "WARNING: apt-get update failed"
  # These packages start services on :9090, :9093/:9094, :9187, :9121, :9115, :80 (nginx) and
  # :8428 (victoria-metrics);
  # the tests and the demo run their own processes on their own ports: only the binaries are needed.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || log "WARNING: apt-get install ${missing[*]} failed; tests needing them will be skipped"
  rm -f /usr/sbin/policy-rc.d
  # ... nor at the next boot, where systemd runs
  if [ -d /run/systemd/system ]; then
    local unit
    for unit in prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-redis-exporter \
                prometheus-blackbox-exporter nginx victoria-metrics; do
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
}

make_venv() {
  local py=${PYTHON:-python3}
  "$py" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' \
    || die "Odoo 18 and 19 need Python 3.10 to 3.12; $py is $("$py" -V 2>&1). Set PYTHON=python3.11."
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$py" -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha"
  local want
  want=$(cat requirements.txt requirements-dev.txt | sha1sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python requirements"
    "$VENV/bin/pip" install -q -U pip wheel setuptools 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/pip" install -q -r requirements.txt -r requirements-dev.txt 2>&1 | grep -v '^WARNING: Location' || true
    "$VENV/bin/python" -c 'import prometheus_client, redis, requests, psycopg2, pytest, opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter, opentelemetry.proto' \
      || die "Python requirements did not install (see pip output above)" 1
    echo "$want" > "$stamp"
  fi
}

write_env() {  # found, how, detail
  cat > "$VENV/odoo.env" <<EOT
ODOO_FOUND=$1
ODOO_HOW=$2
ODOO_SERIES=$SERIES
ODOO_DETAIL='$3'
EOT
}

# The series being set up: sets VENV, SRC, DEFAULT_ODOO_SRC, ODOO_GIT_URL, REQS, ADDON_REQS, SRC_VAR.
select_series() {
  SERIES=$1
  MAJOR=${SERIES%%.*}
  case $SERIES in
    18.0)
      VENV=$TOOLS_VENV; SRC_VAR=ODOO_SRC; SRC=${ODOO_SRC:-}
      DEFAULT_ODOO_SRC=${ODOO_DEFAULT_SRC:-/opt/odoo/18.0}
      ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo/archive/refs/heads/18.0.tar.gz}
      REQS=requirements-odoo.txt; ADDON_REQS=requirements-odoo-addons.txt ;;
    19.0)
      VENV=${LO_VENV19:-$ROOT/.venv-19}; SRC_VAR=ODOO19_SRC; SRC=${ODOO19_SRC:-}
      DEFAULT_ODOO_SRC=${ODOO19_DEFAULT_SRC:-/opt/odoo/19.0}
      ODOO_GIT_URL=${ODOO19_GIT_URL:-https://github.com/odoo/odoo/archive/refs/heads/19.0.tar.gz}
      REQS=requirements-odoo19.txt; ADDON_REQS=requirements-odoo19-addons.txt ;;
    *) die "unknown Odoo series $SERIES in ODOO_SERIES (supported: 18.0 19.0)" ;;
  esac
}

# The Odoo 19 virtualenv: Odoo's and the addons' runtime requirements (pytest runs in $LO_VENV).
make_series_venv() {
  [ "$VENV" = "$TOOLS_VENV" ] && return 0
  local py=${PYTHON:-python3}
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV (Odoo $SERIES)"
    "$py" -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha"
  local want
  want=$(sha1sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/pip" install -q -U pip wheel 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/pip" install -q -r requirements.txt 2>&1 | grep -v '^WARNING: Location' || true
    "$VENV/bin/python" -c 'import prometheus_client, redis, requests, psycopg2, opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter' \
      || die "Python requirements did not install in $VENV (see pip output above)" 1
    echo "$want" > "$stamp"
  fi
}

odoo_importable() {
  "$VENV/bin/python" - "$MAJOR" <<'PY' 2>/dev/null
import sys
import odoo.release as r
sys.exit(0 if r.version_info[0] == int(sys.argv[1]) else 3)
PY
}

use_odoo_src() {
  local src=$1
  [ -f "$src/odoo/release.py" ] && [ -f "$src/odoo-bin" ] \
    || return 1
  grep -q "version_info = ($MAJOR," "$src/odoo/release.py" \
    || die "$SRC_VAR=$src holds an Odoo that is not $SERIES (see $src/odoo/release.py)"
  local stamp="$VENV/.odoo-requirements.sha"
  local want
  want=$(sha1sum "$REQS" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Odoo $SERIES's Python dependencies ($REQS)"
    "$VENV/bin/pip" install -q -r "$REQS" 2>&1 | grep -v '^WARNING: Location' || true
    echo "$want" > "$stamp"
  fi
  local site
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$src" > "$site/odoo-src.pth"
  # the virtualenv's bin first on PATH: a reloading server re-executes itself as plain "python"
  cat > "$VENV/bin/odoo" <<EOT
#!/bin/sh
PATH="$VENV/bin:\$PATH"; export PATH
exec "$VENV/bin/python" "$src/odoo-bin" "\$@"
EOT
  chmod +x "$VENV/bin/odoo"
  odoo_importable || die "Odoo in $SRC_VAR=$src does not import with $VENV/bin/python; its dependencies may have failed to install" 1
  write_env 1 source "$src"
  log "Odoo $SERIES from source tree $src"
}

find_odoo() {
  # An explicitly named source tree wins and must be right.
  if [ -n "$SRC" ]; then
    use_odoo_src "$SRC" \
      || die "$SRC_VAR=$SRC is not an Odoo source tree (expected odoo-bin and odoo/release.py there). Unset it or point it at an Odoo $SERIES checkout."
    return 0
  fi
  local pth
  pth=$(ls "$VENV"/lib/python*/site-packages/odoo-src.pth 2>/dev/null || true)
  if [ -z "$pth" ] && odoo_importable; then
    write_env 1 installed "$("$VENV/bin/python" -c 'import odoo, os; print(os.path.dirname(odoo.__file__))')"
    log "Odoo $SERIES already installed in the virtualenv"
    return 0
  fi
  if use_odoo_src "$DEFAULT_ODOO_SRC"; then return 0; fi
  if [ "${ODOO_NO_DOWNLOAD:-0}" != 1 ]; then
    log "no Odoo $SERIES found; trying pip install from $ODOO_GIT_URL"
    if timeout 900 "$VENV/bin/pip" install -q -r "$REQS" "$ODOO_GIT_URL" >/dev/null 2>&1 && odoo_importable; then
      write_env 1 installed "$ODOO_GIT_URL"
      return 0
    fi
  fi
  write_env 0 none "no importable Odoo $SERIES, no source tree in \$$SRC_VAR or $DEFAULT_ODOO_SRC, and no download"
  log "=================================================================="
  log "ODOO $SERIES NOT FOUND: put an Odoo $SERIES source tree in $DEFAULT_ODOO_SRC,"
  log "or set $SRC_VAR=/path/to/odoo (the folder holding odoo-bin),"
  log "or pip install Odoo $SERIES into $VENV."
  log "Its tests will be SKIPPED."
  log "=================================================================="
  return 0
}

install_odoo_addons() {
  # OCA addons the tests run against (queue_job). Their wheels require "odoo" from PyPI, which a
  # source-tree Odoo provides instead, hence --no-deps.
  grep -q '^ODOO_FOUND=1' "$VENV/odoo.env" || return 0
  local stamp="$VENV/.odoo-addons.sha"
  local want
  want=$(sha1sum "$ADDON_REQS" | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  log "installing OCA addons used by the Odoo $SERIES tests ($ADDON_REQS)"
  if "$VENV/bin/pip" install -q --no-deps -r "$ADDON_REQS" 2>&1 | grep -v '^WARNING: Location'; then :; fi
  # found, not imported: queue_job 19.0 imports another addon, only importable with an addons path
  "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("odoo.addons.queue_job") is None)' 2>/dev/null \
    && echo "$want" > "$stamp" \
    || log "WARNING: queue_job did not install for Odoo $SERIES; its tests will be skipped"
}

apt_install
make_venv
found_any=0
for series in $SERIES_LIST; do
  select_series "$series"
  make_series_venv
  find_odoo
  install_odoo_addons
  grep -q '^ODOO_FOUND=1' "$VENV/odoo.env" && found_any=1
done
if [ "$found_any" != 1 ] && [ "${ODOO_REQUIRED:-0}" = 1 ]; then exit 3; fi
