#!/usr/bin/env bash
# bash completion of hangarctl (completion/hangarctl.bash, issue 15 item 4), in a real bash with bash-completion:
# subcommands and options read from the build's hangarctl --help, and VM, image and snapshot names from a real
# hangard (test:///default) on a private bus that this test starts and stops (by PID).
# Usage: tests/completion.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$(realpath "$1")
source_dir=$(realpath "$2")
[[ -r /usr/share/bash-completion/bash_completion ]] || { echo "bash-completion is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    local status=$? i
    # hangard first, then its bus.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null; done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT

cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile >"$tmp/dbus.log" 2>&1 &
pids+=($!)
bus=unix:path=$tmp/bus
wait_for() { # a condition polled with a deadline
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.05; done
}
wait_for 10 test -S "$tmp/bus"
"$build_dir/daemon/hangard" --bus="$bus" --hypervisor=test:///default --state-dir="$tmp/state" \
    --authorizer=allow-all >"$tmp/hangard.log" 2>&1 &
pids+=($!)
export PATH=$build_dir/client:$PATH
wait_for 20 busctl --address="$bus" status org.hangar.Hangar1 || { cat "$tmp/hangard.log" >&2; exit 1; }
hangarctl --bus="$bus" create alpha --memory 128M --disk 1G >/dev/null
hangarctl --bus="$bus" create alpine --memory 128M --disk 1G >/dev/null
hangarctl --bus="$bus" snapshot create alpha first >/dev/null

# complete LINE: what TAB offers at the end of LINE, sorted, on one line.
complete_line() {
    bash -c '
        source /usr/share/bash-completion/bash_completion
        source "$1"
        COMP_LINE=$2
        COMP_POINT=${#COMP_LINE}
        read -ra COMP_WORDS <<<"$COMP_LINE"
        [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _hangarctl hangarctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
    ' _ "$source_dir/completion/hangarctl.bash" "$1"
}
status=0
expect() {
    local got
    got=$(complete_line "$1")
    if [[ "$got" != "$2 " ]]; then
        echo "'$1<TAB>': expected '$2', got '${got% }'" >&2
        status=1
    fi
}
expect "hangarctl st" "start stats status stop"
expect "hangarctl he" "help"
expect "hangarctl help ima" "image"
expect "hangarctl help image " "delete import list show"
expect "hangarctl list -o name,st" "name,state"
expect "hangarctl list --columns i" "image ip"
expect "hangarctl --bus $bus info al" "alpha alpine"
expect "hangarctl start --w" "--wait --wait-timeout"
expect "hangarctl image " "delete import list show"
expect "hangarctl snapshot re" "revert"
expect "hangarctl stop --w" "--wait --wait-timeout"
expect "hangarctl --j" "--json"
expect "hangarctl list --state r" "running"
expect "hangarctl --bus $bus start al" "alpha alpine"
expect "hangarctl --bus=$bus delete alpi" "alpine"
expect "hangarctl --bus $bus snapshot revert alpha " "first"
expect "hangarctl --bus $bus snapshot list " "alpha alpine"
((status == 0)) && echo "completion ok: subcommands, options, VM and snapshot names"
exit $status
