#!/usr/bin/env bash
# Installs everything the project needs on a Debian machine (idempotent):
#   - Debian packages: Prometheus/promtool, Alertmanager/amtool, the PostgreSQL, Redis and blackbox
#     exporters (end-to-end monitoring test, demo), Chromium (browser tests)
#   - a virtual environment (.venv, or $LO_VENV) with the addons' and the tools' requirements
#   - Odoo 18.0, found in this order:
#       1. an Odoo already importable by the virtualenv's Python (pip-installed the normal way);
#       2. a source tree in $ODOO_SRC (default /opt/odoo/18.0): its Python dependencies are
#          installed from requirements-odoo.txt (pinned for Python 3.11) and .venv/bin/odoo
#          runs its odoo-bin;
#       3. pip install from Odoo's official git repository (ODOO_GIT_URL), where the network allows.
# Writes .venv/odoo.env describing the Odoo found (ODOO_FOUND=1|0 and why).
# Exit codes: 0 ok (even without Odoo, unless ODOO_REQUIRED=1), 2 bad input (e.g. a wrong ODOO_SRC).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${LO_VENV:-$ROOT/.venv}
DEFAULT_ODOO_SRC=${ODOO_DEFAULT_SRC:-/opt/odoo/18.0}
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo/archive/refs/heads/18.0.tar.gz}

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
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "WARNING: missing ${missing[*]} and no root apt-get here; tests needing them will be skipped"
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || log "WARNING: apt-get update failed"
  # These packages start services on :9090, :9093/:9094, :9187, :9121 and :9115;
  # the tests and the demo run their own processes on their own ports: only the binaries are needed.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || log "WARNING: apt-get install ${missing[*]} failed; tests needing them will be skipped"
  rm -f /usr/sbin/policy-rc.d
  # ... nor at the next boot, where systemd runs
  if [ -d /run/systemd/system ]; then
    local unit
    for unit in prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-redis-exporter \
                prometheus-blackbox-exporter; do
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
}

make_venv() {
  local py=${PYTHON:-python3}
  "$py" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' \
    || die "Odoo 18 needs Python 3.10 to 3.12; $py is $("$py" -V 2>&1). Set PYTHON=python3.11."
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
    "$VENV/bin/python" -c 'import prometheus_client, redis, requests, psycopg2, pytest' \
      || die "Python requirements did not install (see pip output above)" 1
    echo "$want" > "$stamp"
  fi
}

write_env() {  # found, how, detail
  cat > "$VENV/odoo.env" <<EOT
ODOO_FOUND=$1
ODOO_HOW=$2
ODOO_DETAIL='$3'
EOT
}

odoo_importable() {
  "$VENV/bin/python" - <<'PY' 2>/dev/null
import sys
import odoo.release as r
sys.exit(0 if r.version_info[0] == 18 else 3)
PY
}

use_odoo_src() {
  local src=$1
  [ -f "$src/odoo/release.py" ] && [ -f "$src/odoo-bin" ] \
    || return 1
  grep -q "version_info = (18," "$src/odoo/release.py" \
    || die "ODOO_SRC=$src holds an Odoo that is not 18.0 (see $src/odoo/release.py)"
  local stamp="$VENV/.odoo-requirements.sha"
  local want
  want=$(sha1sum requirements-odoo.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Odoo 18's Python dependencies (requirements-odoo.txt)"
    "$VENV/bin/pip" install -q -r requirements-odoo.txt 2>&1 | grep -v '^WARNING: Location' || true
    echo "$want" > "$stamp"
  fi
  local site
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$src" > "$site/odoo-src.pth"
  cat > "$VENV/bin/odoo" <<EOT
#!/bin/sh
exec "$VENV/bin/python" "$src/odoo-bin" "\$@"
EOT
  chmod +x "$VENV/bin/odoo"
  odoo_importable || die "Odoo in ODOO_SRC=$src does not import with $VENV/bin/python; its dependencies may have failed to install" 1
  write_env 1 source "$src"
  log "Odoo 18 from source tree $src"
}

find_odoo() {
  # An explicitly named source tree wins and must be right.
  if [ -n "${ODOO_SRC:-}" ]; then
    use_odoo_src "$ODOO_SRC" \
      || die "ODOO_SRC=$ODOO_SRC is not an Odoo source tree (expected odoo-bin and odoo/release.py there). Unset it or point it at an Odoo 18.0 checkout."
    return 0
  fi
  local pth
  pth=$(ls "$VENV"/lib/python*/site-packages/odoo-src.pth 2>/dev/null || true)
  if [ -z "$pth" ] && odoo_importable; then
    write_env 1 installed "$("$VENV/bin/python" -c 'import odoo, os; print(os.path.dirname(odoo.__file__))')"
    log "Odoo 18 already installed in the virtualenv"
    return 0
  fi
  if use_odoo_src "$DEFAULT_ODOO_SRC"; then return 0; fi
  if [ "${ODOO_NO_DOWNLOAD:-0}" != 1 ]; then
    log "no Odoo found; trying pip install from $ODOO_GIT_URL"
    if timeout 900 "$VENV/bin/pip" install -q -r requirements-odoo.txt "$ODOO_GIT_URL" >/dev/null 2>&1 && odoo_importable; then
      write_env 1 installed "$ODOO_GIT_URL"
      return 0
    fi
  fi
  write_env 0 none "no importable Odoo 18, no source tree in \$ODOO_SRC or $DEFAULT_ODOO_SRC, and no download"
  log "=================================================================="
  log "ODOO NOT FOUND: put an Odoo 18.0 source tree in $DEFAULT_ODOO_SRC,"
  log "or set ODOO_SRC=/path/to/odoo (the folder holding odoo-bin),"
  log "or pip install Odoo 18.0 into $VENV."
  log "=================================================================="
  [ "${ODOO_REQUIRED:-0}" = 1 ] && exit 3
  return 0
}

install_odoo_addons() {
  # OCA addons the tests run against (queue_job). Their wheels require "odoo" from PyPI, which a
  # source-tree Odoo provides instead, hence --no-deps.
  grep -q '^ODOO_FOUND=1' "$VENV/odoo.env" || return 0
  local stamp="$VENV/.odoo-addons.sha"
  local want
  want=$(sha1sum requirements-odoo-addons.txt | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  log "installing OCA addons used by the tests (requirements-odoo-addons.txt)"
  if "$VENV/bin/pip" install -q --no-deps -r requirements-odoo-addons.txt 2>&1 | grep -v '^WARNING: Location'; then :; fi
  "$VENV/bin/python" -c 'import odoo.addons.queue_job' 2>/dev/null \
    && echo "$want" > "$stamp" \
    || log "WARNING: queue_job did not install; its tests will be skipped"
}

apt_install
make_venv
find_odoo
install_odoo_addons
