#!/bin/sh
# Builds one wheel per addon (OCA style: whool, distribution odoo-addon-<addon>) and the
# meta package into ${1:-dist/}. Works offline when whool is installed (requirements-dev.txt).
#   sh setup/build-wheels.sh dist/ && pip install dist/*.whl
# Each addon is exported first (files git tracks or would track: never ignored files, caches
# or local secrets), so the wheels are the same from a fresh clone and from a working tree.
set -eu
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
py=${PYTHON:-python3}
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
    # Outside a git work tree, whool packs every file of the staged folder.
    (cd "$stage" && "$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "./addons/$name")
done
"$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" ./setup/_metapackage
ls "$out"
