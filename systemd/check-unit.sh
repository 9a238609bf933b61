#!/usr/bin/env bash
# Checks systemd/hangard.service.in as CI does (scripts/test.sh): `systemd-analyze verify` must pass and
# `systemd-analyze security --offline=yes` must rate its exposure at most 2.0. Works without systemd as PID 1.
# verify insists that ExecStart= exists, so it checks a temporary copy of the unit whose ExecStart= names the
# hangard built in BUILD_DIR (cmake --install fills in the installed path, which need not exist here).
# Usage: systemd/check-unit.sh BUILD_DIR [MAX_EXPOSURE]
set -euo pipefail

build_dir=$(realpath "$1")
max_exposure=${2:-2.0}
unit=$(dirname "$(realpath "${BASH_SOURCE[0]}")")/hangard.service.in
hangard=$build_dir/daemon/hangard
[[ -x $hangard ]] || { echo "check-unit: $hangard is not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -q "^ExecStart=@HANGAR_SBINDIR@/hangard " "$unit" || { echo "check-unit: ExecStart= is not @HANGAR_SBINDIR@/hangard" >&2; exit 1; }
sed "s#^ExecStart=@HANGAR_SBINDIR@/hangard #ExecStart=$hangard #" "$unit" >"$tmp/hangard.service"

# verify prints its findings on stderr and may exit 0 with warnings: any output is a failure.
if ! out=$(systemd-analyze verify "$tmp/hangard.service" 2>&1) || [[ -n $out ]]; then
    echo "check-unit: systemd-analyze verify hangard.service failed:" >&2
    echo "$out" >&2
    exit 1
fi

security=$(systemd-analyze security --offline=yes "$tmp/hangard.service" 2>&1) || {
    echo "$security" >&2
    echo "check-unit: systemd-analyze security failed" >&2
    exit 1
}
# "→ Overall exposure level for hangard.service: 1.7 OK 🙂"
exposure=$(sed -n 's/.*Overall exposure level for hangard\.service: \([0-9.]*\).*/\1/p' <<<"$security")
[[ -n $exposure ]] || { echo "$security" >&2; echo "check-unit: no 'Overall exposure level' line" >&2; exit 1; }
if ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    echo "$security" >&2
    echo "check-unit: exposure $exposure is above $max_exposure" >&2
    exit 1
fi
echo "hangard.service: systemd-analyze verify ok; exposure $exposure (at most $max_exposure)"
