#!/usr/bin/env bash
# bash completion of hangarctl (completion/hangarctl.bash, issue 15 item 4), in a real bash with bash-completion:
# subcommands and options read from the build's hangarctl --help, and VM, image and snapshot names from a real
# hangard (test:///default) on a private bus that this test starts and stops (by PID).
# Usage: tests/completion.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$(realpath "$1")
source_dir=$(realpath "$2")
[[ -r /usr/share/bash-completion/bash_completion ]] || { echo "bash-completion is not installed" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/private-bus.sh" # $tmp, $bus, $pids, wait_for, cleanup on exit
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
