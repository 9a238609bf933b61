#!/usr/bin/env bash
# docs/api.md is current (issue 15, item 7): scripts/dbus-doc.py run on dbus/*.xml now gives the committed file, so the
# reference never drifts from the XML comments it is generated from.
# Usage: tests/api-doc.sh SOURCE_DIR
set -euo pipefail

source_dir=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$source_dir/scripts/dbus-doc.py" --markdown "$tmp/api.md" "$source_dir/dbus"
if ! diff -u "$source_dir/docs/api.md" "$tmp/api.md" >"$tmp/diff"; then
    head -n 60 "$tmp/diff" >&2
    echo "docs/api.md is stale: run 'cmake --build build --target hangar_api_doc' (or scripts/dbus-doc.py --markdown" \
        "docs/api.md dbus) and commit it" >&2
    exit 1
fi
grep -q '^#### Manager.CreateVM$' "$tmp/api.md" || { echo "docs/api.md has no Manager.CreateVM" >&2; exit 1; }
echo "docs/api.md is current"
