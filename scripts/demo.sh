#!/usr/bin/env bash
# The main job on local defaults: installs everything, then runs Odoo 18 in prefork mode
# (2 HTTP workers, 1 cron worker, the gevent websocket process, logistics_observability loaded
# server-wide, dedicated metrics port) behind a reverse proxy as in production (nginx, routed as
# Traefik routes the compose stack: the tenants' hosts, /websocket to the gevent port, X-Forwarded-*
# for Odoo's proxy_mode), with three demo tenant databases (db-filter by host name), continuous
# demo traffic through the proxy, and the shipped monitoring stack run from Debian's packages:
# Prometheus (exemplar storage on) with the platform rules and the generated SLO rules,
# Alertmanager, and the PostgreSQL, Redis and blackbox exporters; the proxy and the monitoring stack
# are configured from deploy/ by deploy/render_native.py. Safe to re-run.
#
#   scripts/demo.sh            run in the foreground; Ctrl-C stops everything
#   scripts/demo.sh --detach   start and return; `scripts/demo.sh stop` stops it
#
# Environment: DEMO_TENANTS (default "alpha bravo charlie"), DEMO_PROXY_PORT (8080: the proxy,
# where the printed URLs point), DEMO_HTTP_PORT (8069: Odoo itself; its gevent port is this + 3),
# DEMO_METRICS_PORT (9464), DEMO_PROMETHEUS_PORT (9090), DEMO_ALERTMANAGER_PORT (9093),
# DEMO_PG_EXPORTER_PORT (9187), DEMO_REDIS_EXPORTER_PORT (9121), DEMO_BLACKBOX_PORT (9115),
# PGHOST/PGPORT/PGUSER (127.0.0.1/5432/current user), DEMO_ODOO (the Odoo series: 18.0, the
# default, or 19.0; 19.0's tenants are demo19_<tenant>, so both demos can share a PostgreSQL),
# DEMO_DB_PREFIX (the databases' prefix: demo_ / demo19_; the test runs its demo under its own).
#
# DEMO_FLEET=1 adds the fleet (docs/DEPLOYMENT.md, "Fleet"; configs from deploy/fleet/ rendered by
# deploy/render_fleet.py): a second Odoo instance (odoo-2) serving the same tenants with its own
# traffic, a pair of vmagents per instance, VictoriaMetrics (dedup = scrape interval) and vmalert
# with the platform and SLO rules over both instances, notifying the same Alertmanager. Ports:
# DEMO_HTTP2_PORT (8079: odoo-2, gevent + 3), DEMO_METRICS2_PORT (9465), DEMO_VM_PORT (8428),
# DEMO_VMALERT_PORT (8880), DEMO_VMAGENT_PORT (8429: the four agents use it and the next three).
# Taxonomy: DEMO_FLEET_ENVIRONMENT (demo), DEMO_FLEET_REGION (local), DEMO_FLEET_CLUSTER (demo).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO_ODOO=${DEMO_ODOO:-18.0}
case $DEMO_ODOO in
  18.0) VENV=${LO_VENV:-$ROOT/.venv}; DBP=demo_; DEMO_DATA=(); LOG_HANDLER=:INFO ;;
  # 19.0 loads no demo data unless asked to, and logs a deprecation notice per /jsonrpc request,
  # addressed to the client: the demo's traffic generator plays such a legacy RPC client
  19.0) VENV=${LO_VENV19:-$ROOT/.venv-19}; DBP=demo19_; DEMO_DATA=(--with-demo)
        LOG_HANDLER=:INFO,odoo.addons.rpc.controllers.jsonrpc:ERROR,odoo.addons.rpc.controllers.xmlrpc:ERROR ;;
  *) printf '[demo] ERROR: DEMO_ODOO=%s: supported series are 18.0 and 19.0\n' "$DEMO_ODOO" >&2; exit 2 ;;
esac
DBP=${DEMO_DB_PREFIX:-$DBP}
TOOLS_VENV=${LO_VENV:-$ROOT/.venv}
STATE=${DEMO_STATE:-$ROOT/var/${DBP%_}}
TENANTS=${DEMO_TENANTS:-alpha bravo charlie}
PROXY_PORT=${DEMO_PROXY_PORT:-8080}
HTTP_PORT=${DEMO_HTTP_PORT:-8069}
GEVENT_PORT=$((HTTP_PORT + 3))
METRICS_PORT=${DEMO_METRICS_PORT:-9464}
PROM_PORT=${DEMO_PROMETHEUS_PORT:-9090}
AM_PORT=${DEMO_ALERTMANAGER_PORT:-9093}
PG_EXPORTER_PORT=${DEMO_PG_EXPORTER_PORT:-9187}
REDIS_EXPORTER_PORT=${DEMO_REDIS_EXPORTER_PORT:-9121}
BLACKBOX_PORT=${DEMO_BLACKBOX_PORT:-9115}
REDIS_URL=redis://127.0.0.1:6379/0
FLEET=${DEMO_FLEET:-0}
HTTP2_PORT=${DEMO_HTTP2_PORT:-8079}
GEVENT2_PORT=$((HTTP2_PORT + 3))
METRICS2_PORT=${DEMO_METRICS2_PORT:-9465}
VM_PORT=${DEMO_VM_PORT:-8428}
VMALERT_PORT=${DEMO_VMALERT_PORT:-8880}
VMAGENT_PORT=${DEMO_VMAGENT_PORT:-8429}
FLEET_AGENTS="odoo-1-a odoo-1-b odoo-2-a odoo-2-b"
PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}; PGUSER=${PGUSER:-$(id -un)}
MODULES=sale_stock,stock_delivery,account,logistics_observability,logistics_slo,logistics_observability_delivery_demo

say() { printf '[demo] %s\n' "$*"; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 2; }
case $DBP in *[!a-z0-9_]* | '') die "DEMO_DB_PREFIX=$DBP: lower-case letters, digits and _ only" ;; esac

stop_all() {
  local fleet_names="traffic-2 vmalert" agent
  for agent in $FLEET_AGENTS; do fleet_names="$fleet_names vmagent-$agent"; done
  for name in traffic $fleet_names victoria-metrics prometheus alertmanager blackbox-exporter redis-exporter \
              postgres-exporter proxy odoo odoo-2; do
    local pidfile=$STATE/$name.pid
    if [ -f "$pidfile" ]; then
      local pid; pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        say "stopping $name ($pid)"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$pid" 2>/dev/null || true
      fi
      rm -f "$pidfile"
    fi
  done
}

if [ "${1:-}" = stop ]; then stop_all; exit 0; fi
DETACH=0; [ "${1:-}" = --detach ] && DETACH=1

ODOO_SERIES=$DEMO_ODOO ODOO_REQUIRED=1 bash scripts/bootstrap.sh || die "setup failed (see above)"
PY=$TOOLS_VENV/bin/python
ODOO=$VENV/bin/odoo
mkdir -p "$STATE"
stop_all  # a previous run of this demo

psql_q() { psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "${2:-postgres}" -tAc "$1"; }
psql_q "SELECT 1" >/dev/null 2>&1 || die "PostgreSQL is not reachable at $PGHOST:$PGPORT as $PGUSER"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=("$HTTP_PORT" "$PROXY_PORT" "$METRICS_PORT" "$PROM_PORT" "$GEVENT_PORT" "$AM_PORT" "$PG_EXPORTER_PORT"
       "$REDIS_EXPORTER_PORT" "$BLACKBOX_PORT")
if [ "$FLEET" = 1 ]; then
  ports+=("$HTTP2_PORT" "$GEVENT2_PORT" "$METRICS2_PORT" "$VM_PORT" "$VMALERT_PORT" "$VMAGENT_PORT"
          "$((VMAGENT_PORT + 1))" "$((VMAGENT_PORT + 2))" "$((VMAGENT_PORT + 3))")
  for bin in victoria-metrics vmagent vmalert; do
    command -v "$bin" >/dev/null || die "$bin is not installed (scripts/bootstrap.sh installs victoria-metrics as root)"
  done
fi
dup=$(printf '%s\n' "${ports[@]}" | sort | uniq -d | tr '\n' ' ')
[ -z "$dup" ] || die "port(s) $dup given twice (the gevent port is DEMO_HTTP_PORT + 3)"
for p in "${ports[@]}"; do
  port_free "$p" || die "port $p is already in use (set DEMO_PROXY_PORT / DEMO_HTTP_PORT / DEMO_METRICS_PORT / DEMO_PROMETHEUS_PORT / DEMO_ALERTMANAGER_PORT / DEMO_*_EXPORTER_PORT / DEMO_BLACKBOX_PORT; with DEMO_FLEET=1 DEMO_HTTP2_PORT / DEMO_METRICS2_PORT / DEMO_VM_PORT / DEMO_VMALERT_PORT / DEMO_VMAGENT_PORT)"
done
# Odoo is served behind the proxy only: without it the web client's websocket reaches an HTTP
# worker (a traceback in Odoo's log every few seconds). Debian puts nginx in /usr/sbin.
NGINX=$(PATH=$PATH:/usr/sbin command -v nginx || true)
[ -n "$NGINX" ] || die "nginx is not installed (scripts/bootstrap.sh installs it when run as root; or apt-get install nginx)"

odoo_args=(--addons-path="$ROOT/addons" --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER")

# One template with everything installed, cloned per tenant (a clone takes a second, an install minutes).
TEMPLATE=${DBP}template
installed() { [ "$(psql_q "SELECT state FROM ir_module_module WHERE name='logistics_slo'" "$1" 2>/dev/null)" = installed ]; }
need_template=0
for t in $TENANTS; do installed "${DBP}$t" || need_template=1; done
if [ $need_template = 1 ] && ! installed "$TEMPLATE"; then
  say "installing $MODULES with demo data in $TEMPLATE (a few minutes, once)"
  if [ -n "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$TEMPLATE'")" ]; then
    psql_q "ALTER DATABASE $TEMPLATE IS_TEMPLATE false" >/dev/null  # a template cannot be dropped
  fi
  psql_q "DROP DATABASE IF EXISTS $TEMPLATE" >/dev/null
  "$ODOO" "${odoo_args[@]}" -d "$TEMPLATE" -i "$MODULES" "${DEMO_DATA[@]}" --stop-after-init --max-cron-threads=0 \
    --log-level=warn --logfile="$STATE/install.log" || die "install failed, see $STATE/install.log"
fi
# Marked as a PostgreSQL template, it is no tenant: the metrics do not count it.
if installed "$TEMPLATE"; then psql_q "ALTER DATABASE $TEMPLATE IS_TEMPLATE true" >/dev/null; fi
for t in $TENANTS; do
  db=${DBP}$t
  if installed "$db"; then
    say "tenant $db exists, upgrading the suite"
    # the demo carrier has its own addon (never auto-installed): -i adds it to older tenants
    "$ODOO" "${odoo_args[@]}" -d "$db" -i logistics_observability_delivery_demo \
      -u logistics_observability,logistics_slo --stop-after-init \
      --max-cron-threads=0 --log-level=warn --logfile="$STATE/install.log" || die "upgrade of $db failed, see $STATE/install.log"
  else
    say "creating tenant $db"
    psql_q "DROP DATABASE IF EXISTS \"$db\"" >/dev/null
    psql_q "CREATE DATABASE \"$db\" TEMPLATE $TEMPLATE" >/dev/null
    psql_q "UPDATE ir_config_parameter SET value = gen_random_uuid()::text WHERE key = 'database.uuid'" "$db" >/dev/null
    # a module upgrade, so Recent changes (Platform Health, Grafana annotations) has one to show
    "$ODOO" "${odoo_args[@]}" -d "$db" -u logistics_slo --stop-after-init --max-cron-threads=0 \
      --log-level=warn --logfile="$STATE/install.log" || die "upgrade of $db failed, see $STATE/install.log"
  fi
done

# An integration user per tenant, with an API key the traffic generator posts events with.
KEYS_FILE=$STATE/api_keys
: > "$KEYS_FILE"; chmod 600 "$KEYS_FILE"
for t in $TENANTS; do
  key=$(DEMO_BASE_URL="http://$t.localhost:$PROXY_PORT" "$ODOO" shell "${odoo_args[@]}" -d "${DBP}$t" --no-http \
    --max-cron-threads=0 --log-level=error < scripts/demo_tenant.py 2>/dev/null | sed -n 's/^APIKEY=//p')
  [ -n "$key" ] || die "could not create the demo API key in ${DBP}$t"
  echo "${DBP}$t=$key" >> "$KEYS_FILE"
done

TOKEN_FILE=$STATE/metrics_token
[ -s "$TOKEN_FILE" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$TOKEN_FILE"
chmod 600 "$TOKEN_FILE"
# db_name: the cron worker runs the tenants' jobs only (without it, those of every database on
# the server, tests' and the other series' demo included); HTTP still selects the tenant by host
# (dbfilter wins there). proxy_mode: the client's address, scheme and host come from the proxy's
# X-Forwarded-* headers.
cat > "$STATE/odoo.conf" <<EOT
[options]
addons_path = $ROOT/addons
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
http_interface = 127.0.0.1
http_port = $HTTP_PORT
gevent_port = $GEVENT_PORT
proxy_mode = True
workers = 2
max_cron_threads = 1
limit_request = 2000
server_wide_modules = base,web,logistics_observability
dbfilter = ^${DBP}%d\$
db_name = $(printf "${DBP}%s," $TENANTS | sed 's/,$//')
list_db = False
data_dir = $STATE/data
logfile = $STATE/odoo.log
log_handler = $LOG_HANDLER
observability_metrics_port = $METRICS_PORT
observability_metrics_token = $(cat "$TOKEN_FILE")
observability_env = demo
observability_region = local
observability_log_format = json
observability_redis_url = $REDIS_URL
EOT
chmod 600 "$STATE/odoo.conf"

say "starting Odoo (prefork) on 127.0.0.1:$HTTP_PORT (websocket: gevent on :$GEVENT_PORT)"
# the addon's launcher: JSON logs from the very first line (version banner included)
setsid "$ODOO" --addons-path="$ROOT/addons" observability_server -c "$STATE/odoo.conf" >"$STATE/odoo.stdout" 2>&1 &
echo $! > "$STATE/odoo.pid"
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/health/live" >/dev/null 2>&1 && break
  kill -0 "$(cat "$STATE/odoo.pid")" 2>/dev/null || die "Odoo exited; see $STATE/odoo.log"
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/health/live" >/dev/null || die "Odoo did not come up; see $STATE/odoo.log"

if [ "$FLEET" = 1 ]; then
  # odoo-2: a replica serving the same tenants (same databases and filestore), its own ports and
  # log; its metrics directory is its own (the default one is per HTTP port)
  sed -e "s/^http_port = .*/http_port = $HTTP2_PORT/" -e "s/^gevent_port = .*/gevent_port = $GEVENT2_PORT/" \
    -e "s|^logfile = .*|logfile = $STATE/odoo-2.log|" \
    -e "s/^observability_metrics_port = .*/observability_metrics_port = $METRICS2_PORT/" \
    "$STATE/odoo.conf" > "$STATE/odoo-2.conf"
  chmod 600 "$STATE/odoo-2.conf"
  say "starting the replica odoo-2 (prefork) on 127.0.0.1:$HTTP2_PORT (metrics :$METRICS2_PORT)"
  setsid "$ODOO" --addons-path="$ROOT/addons" observability_server -c "$STATE/odoo-2.conf" >"$STATE/odoo-2.stdout" 2>&1 &
  echo $! > "$STATE/odoo-2.pid"
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$HTTP2_PORT/health/live" >/dev/null 2>&1 && break
    kill -0 "$(cat "$STATE/odoo-2.pid")" 2>/dev/null || die "odoo-2 exited; see $STATE/odoo-2.log"
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$HTTP2_PORT/health/live" >/dev/null || die "odoo-2 did not come up; see $STATE/odoo-2.log"
fi

# The shipped proxy and monitoring stack (deploy/), rendered for local addresses, with the SLO
# rules generated from the tenants' definitions.
MON=$STATE/monitoring
mkdir -p "$MON/secrets"
dbs=""; for t in $TENANTS; do dbs="$dbs -d ${DBP}$t"; done
extra_rules=()
# shellcheck disable=SC2086
if "$ODOO" --addons-path="$ROOT/addons" slo_rules -c "$STATE/odoo.conf" $dbs -o "$STATE/slo.rules.yml" >"$STATE/slo_rules.log" 2>&1; then
  say "generated SLO rules: $STATE/slo.rules.yml"
  extra_rules=(--extra-rules "$STATE/slo.rules.yml")
else
  say "WARNING: SLO rule generation failed (see $STATE/slo_rules.log); Prometheus runs without them"
fi
cp "$TOKEN_FILE" "$MON/secrets/odoo_metrics_token"
"$PY" deploy/render_native.py --out "$MON" --drop-job traefik "${extra_rules[@]}" \
  --proxy "127.0.0.1:$PROXY_PORT" --address "odoo:8072=127.0.0.1:$GEVENT_PORT" \
  --address "odoo:9127=127.0.0.1:$METRICS_PORT" --address "odoo:8069=127.0.0.1:$HTTP_PORT" \
  --address "postgres-exporter:9187=127.0.0.1:$PG_EXPORTER_PORT" \
  --address "redis-exporter:9121=127.0.0.1:$REDIS_EXPORTER_PORT" \
  --address "blackbox-exporter:9115=127.0.0.1:$BLACKBOX_PORT" \
  --address "alertmanager:9093=127.0.0.1:$AM_PORT" --address "localhost:9090=127.0.0.1:$PROM_PORT" \
  >"$STATE/render.log" 2>&1 || die "rendering deploy/ failed: $(cat "$STATE/render.log")"

start_daemon() {  # name, binary, args... (skipped with a warning when the package is missing)
  local name=$1 bin=$2; shift 2
  if ! command -v "$bin" >/dev/null; then
    say "WARNING: $bin is not installed (scripts/bootstrap.sh installs it as root); skipping $name"
    return 0
  fi
  setsid "$bin" "$@" >"$STATE/$name.log" 2>&1 &
  echo $! > "$STATE/$name.pid"
}

# The proxy (its access log: one JSON object per request in $MON/nginx/access.log); Prometheus
# keeps scraping Odoo's dedicated metrics port directly.
read -r first _ <<<"$TENANTS"
start_daemon proxy "$NGINX" -c "$MON/nginx/nginx.conf"
for _ in $(seq 1 40); do
  curl -fsS -H "Host: $first.localhost:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/health/live" >/dev/null 2>&1 && break
  kill -0 "$(cat "$STATE/proxy.pid")" 2>/dev/null || break
  sleep 0.25
done
curl -fsS -H "Host: $first.localhost:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/health/live" >/dev/null 2>&1 \
  || die "the proxy (nginx) did not come up on 127.0.0.1:$PROXY_PORT; see $STATE/proxy.log and $MON/nginx/error.log"

# Outside-in synthetic checks: the tenants' own checks as blackbox targets, probed through the
# proxy (the tenant's host in the Host header: a name only this machine's browsers resolve).
# shellcheck disable=SC2086
if "$ODOO" --addons-path="$ROOT/addons" synthetic_targets -c "$STATE/odoo.conf" $dbs \
     -o "$MON/synthetic-targets.json" --blackbox "$MON/synthetic-modules.yml" >"$STATE/synthetic.log" 2>&1 \
   && "$PY" scripts/demo_synthetic.py --targets "$MON/synthetic-targets.json" \
     --modules "$MON/synthetic-modules.yml" --blackbox-config "$MON/blackbox.yml" \
     --prometheus "$MON/prometheus.yml" --blackbox-address "127.0.0.1:$BLACKBOX_PORT" \
     --via "127.0.0.1:$PROXY_PORT" >>"$STATE/synthetic.log" 2>&1; then
  say "$(tail -n 1 "$STATE/synthetic.log")"
else
  say "WARNING: synthetic checks not wired (see $STATE/synthetic.log)"
fi

DATA_SOURCE_NAME="postgresql://$PGUSER@$PGHOST:$PGPORT/postgres?sslmode=disable" \
  start_daemon postgres-exporter prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PG_EXPORTER_PORT"
start_daemon redis-exporter prometheus-redis-exporter --redis.addr="${REDIS_URL%/0}" \
  --web.listen-address="127.0.0.1:$REDIS_EXPORTER_PORT"
start_daemon blackbox-exporter prometheus-blackbox-exporter --config.file="$MON/blackbox.yml" \
  --web.listen-address="127.0.0.1:$BLACKBOX_PORT"
# --cluster.listen-address= : a single Alertmanager, no gossip port
start_daemon alertmanager prometheus-alertmanager --config.file="$MON/alertmanager.yml" \
  --storage.path="$MON/alertmanager-data" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
start_daemon prometheus prometheus --config.file="$MON/prometheus.yml" --storage.tsdb.path="$MON/prometheus-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --enable-feature=exemplar-storage
for _ in $(seq 1 40); do
  curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
for name in postgres-exporter redis-exporter blackbox-exporter alertmanager prometheus; do
  pidfile=$STATE/$name.pid
  [ -f "$pidfile" ] || continue
  kill -0 "$(cat "$pidfile")" 2>/dev/null || say "WARNING: $name exited; see $STATE/$name.log"
done

if [ "$FLEET" = 1 ]; then
  # The fleet: deploy/fleet/ rendered for local addresses; every agent runs the same vmagent.yml,
  # its instance and target from its environment.
  FLEET_DIR=$STATE/fleet
  mkdir -p "$FLEET_DIR/secrets"
  cp "$TOKEN_FILE" "$FLEET_DIR/secrets/odoo_metrics_token"
  "$PY" deploy/render_fleet.py --out "$FLEET_DIR" "${extra_rules[@]}" \
    --address "victoriametrics:8428=127.0.0.1:$VM_PORT" --address "vmalert:8880=127.0.0.1:$VMALERT_PORT" \
    --address "alertmanager:9093=127.0.0.1:$AM_PORT" >"$STATE/render-fleet.log" 2>&1 \
    || die "rendering deploy/fleet/ failed: $(cat "$STATE/render-fleet.log")"
  mapfile -t vm_args < "$FLEET_DIR/victoria-metrics.args"
  mapfile -t vmagent_args < "$FLEET_DIR/vmagent.args"
  mapfile -t vmalert_args < "$FLEET_DIR/vmalert.args"
  start_daemon victoria-metrics victoria-metrics "${vm_args[@]}" -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$FLEET_DIR/victoria-metrics-data"
  port=$VMAGENT_PORT
  for agent in $FLEET_AGENTS; do
    instance=${agent%-*}
    target=127.0.0.1:$METRICS_PORT; [ "$instance" = odoo-2 ] && target=127.0.0.1:$METRICS2_PORT
    ODOO_INSTANCE=$instance ODOO_METRICS_TARGET=$target FLEET_ENVIRONMENT=${DEMO_FLEET_ENVIRONMENT:-demo} \
      FLEET_REGION=${DEMO_FLEET_REGION:-local} FLEET_CLUSTER=${DEMO_FLEET_CLUSTER:-demo} \
      start_daemon "vmagent-$agent" vmagent "${vmagent_args[@]}" -httpListenAddr="127.0.0.1:$port" \
      -remoteWrite.tmpDataPath="$FLEET_DIR/vmagent-$agent"
    port=$((port + 1))
  done
  start_daemon vmalert vmalert "${vmalert_args[@]}" -httpListenAddr="127.0.0.1:$VMALERT_PORT"
  for _ in $(seq 1 40); do
    curl -fsS "http://127.0.0.1:$VMALERT_PORT/health" >/dev/null 2>&1 && break
    sleep 0.5
  done
  for name in victoria-metrics vmalert $(printf 'vmagent-%s ' $FLEET_AGENTS); do
    kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null || say "WARNING: $name exited; see $STATE/$name.log"
  done
fi

if [ -f scripts/demo_traffic.py ]; then
  traffic_args=()
  for t in $TENANTS; do traffic_args+=(--db "${DBP}$t" --host "${DBP}$t=$t.localhost"); done
  while read -r line; do traffic_args+=(--api-key "$line"); done < "$KEYS_FILE"
  setsid "$PY" scripts/demo_traffic.py --url "http://127.0.0.1:$PROXY_PORT" "${traffic_args[@]}" \
    --forever >"$STATE/traffic.log" 2>&1 &
  echo $! > "$STATE/traffic.pid"
  if [ "$FLEET" = 1 ]; then  # the replica's own clients (a load balancer would split them)
    setsid "$PY" scripts/demo_traffic.py --url "http://127.0.0.1:$HTTP2_PORT" "${traffic_args[@]}" \
      --forever >"$STATE/traffic-2.log" 2>&1 &
    echo $! > "$STATE/traffic-2.pid"
  fi
fi

stop_cmd="scripts/demo.sh stop"
[ "$DEMO_ODOO" = 18.0 ] || stop_cmd="DEMO_ODOO=$DEMO_ODOO $stop_cmd"
[ -z "${DEMO_DB_PREFIX:-}" ] || stop_cmd="DEMO_DB_PREFIX=$DBP $stop_cmd"
[ -z "${DEMO_STATE:-}" ] || stop_cmd="DEMO_STATE=$STATE $stop_cmd"
cat <<EOT

  Odoo (prefork, 2 HTTP + 1 cron worker, behind nginx):  $(for t in $TENANTS; do printf 'http://%s.localhost:%s  ' "$t" "$PROXY_PORT"; done)
      login admin / admin; menu "Platform Health"
  Proxy:       nginx on 127.0.0.1:$PROXY_PORT (config rendered from deploy/nginx/: $MON/nginx) to Odoo on
               127.0.0.1:$HTTP_PORT, /websocket to its gevent port :$GEVENT_PORT
  Metrics (dedicated port, bearer token in ${STATE#"$ROOT"/}/metrics_token):
      curl -H "Authorization: Bearer \$(cat ${STATE#"$ROOT"/}/metrics_token)" http://127.0.0.1:$METRICS_PORT/metrics
  Health:      http://127.0.0.1:$PROXY_PORT/health/ready
  Prometheus:  http://127.0.0.1:$PROM_PORT  (config rendered from deploy/: $MON)
  Alertmanager: http://127.0.0.1:$AM_PORT   Exporters: PostgreSQL :$PG_EXPORTER_PORT, Redis :$REDIS_EXPORTER_PORT, blackbox :$BLACKBOX_PORT
  Logs:        ${STATE#"$ROOT"/}/odoo.log (JSON), ${STATE#"$ROOT"/}/traffic.log, ${MON#"$ROOT"/}/nginx/access.log (proxy, JSON)
EOT
if [ "$FLEET" = 1 ]; then
  cat <<EOT
  Fleet (deploy/fleet/ rendered in ${FLEET_DIR#"$ROOT"/}): odoo-1 = the Odoo above, odoo-2 = http://127.0.0.1:$HTTP2_PORT
      (metrics :$METRICS2_PORT), both serving the same tenants, each scraped by two vmagents
      (:$VMAGENT_PORT-:$((VMAGENT_PORT + 3)); label instance = odoo-1 / odoo-2)
  VictoriaMetrics: http://127.0.0.1:$VM_PORT/vmui  (e.g. sum by (tenant) (rate(odoo_workflow_runs_total[5m])))
  vmalert:     http://127.0.0.1:$VMALERT_PORT  (platform + SLO rules over both instances, to Alertmanager :$AM_PORT)
      Prometheus above still scrapes odoo-1 and the exporters with its own rules
EOT
fi
cat <<EOT
  Stop:        $stop_cmd

EOT
if [ $DETACH = 1 ]; then exit 0; fi
trap 'stop_all; exit 0' INT TERM
say "running; Ctrl-C to stop"
while kill -0 "$(cat "$STATE/odoo.pid")" 2>/dev/null; do sleep 2; done
say "Odoo stopped; see $STATE/odoo.log"
stop_all
