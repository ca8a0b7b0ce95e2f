#!/bin/sh
# Builds one wheel per addon (OCA style: whool, distribution odoo-addon-<addon>) and the
# meta package into ${1:-dist/}. Works offline when whool is installed (requirements-dev.txt).
#   sh setup/build-wheels.sh dist/ && pip install dist/*.whl
#   ODOO_SERIES=19.0 sh setup/build-wheels.sh dist19/     (default series: 18.0)
# The manifests' versions carry no series (one source serves 18.0 and 19.0): the wheels get it
# here, as versions <series>.x.y.z requiring odoo==<series>.*.
# Each addon is exported first (files git tracks or would track: never ignored files, caches
# or local secrets), so the wheels are the same from a fresh clone and from a working tree.
set -eu
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
py=${PYTHON:-python3}
series=${ODOO_SERIES:-18.0}
case $series in 18.0|19.0) ;; *) echo "ODOO_SERIES=$series: supported series are 18.0 and 19.0" >&2; exit 2 ;; esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for manifest in addons/*/__manifest__.py; do
    addon=$(dirname "$manifest")
    name=$(basename "$addon")
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files --cached --others --exclude-standard -- "$addon" | while IFS= read -r f; do
            [ -f "$f" ] || continue
            mkdir -p "$stage/$(dirname "$f")"
            cp -p "$f" "$stage/$f"
        done
    else
        mkdir -p "$stage/addons" && cp -Rp "$addon" "$stage/addons/"
        find "$stage/addons/$name" -name __pycache__ -prune -exec rm -rf {} +
    fi
    # the series goes in front of the staged manifest's version: "1.0.0" -> "18.0.1.0.0"
    sed -i "s/\"version\": \"\([0-9][0-9.]*\)\"/\"version\": \"$series.\1\"/" "$stage/addons/$name/__manifest__.py"
    # Outside a git work tree, whool packs every file of the staged folder.
    (cd "$stage" && "$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "./addons/$name")
done
mkdir -p "$stage/_metapackage"
sed "s/18\.0/$series/g" setup/_metapackage/pyproject.toml > "$stage/_metapackage/pyproject.toml"
"$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "$stage/_metapackage"
ls "$out"
