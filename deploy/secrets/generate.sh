#!/bin/sh
# Creates the secret files the compose stack reads (random values), unless they exist.
#   sh deploy/secrets/generate.sh
set -eu
cd "$(dirname "$0")"
umask 077
for name in db_password odoo_metrics_token grafana_admin_password; do
    if [ ! -s "$name" ]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$name"
        echo "created deploy/secrets/$name"
    fi
    # Readable by the non-root users of the containers (bind-mounted as Docker secrets);
    # the folder itself stays private to the owner.
    chmod 0644 "$name"
done
chmod 0700 .
