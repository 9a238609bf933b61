#!/usr/bin/env bash
# The examples of docs/hangarctl.md run as written (issue 15, item 6): the ```sh block of its "Examples" section is
# run by bash with -e (a command that fails fails the test, as a reader would see it fail), in a scratch $HOME and
# $XDG_RUNTIME_DIR, with the build's hangard and hangarctl first on PATH. The block starts its own dbus-daemon and
# hangard and stops them; should it fail halfway, this script stops whatever is left, by PID.
# Usage: tests/docs-examples.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$(realpath "$1")
source_dir=$(realpath "$2")
tmp=$(mktemp -d)
mkdir -m 0700 "$tmp/home" "$tmp/run"
script=$tmp/examples.sh
cleanup() {
    local status=$?
    # The block's dbus-daemon forked itself away (its pid is in bus.pid); hangard is a child of the block's shell,
    # which ran in a process group of its own.
    [[ -n ${block:-} ]] && kill -- -"$block" 2>/dev/null || true
    [[ -s $tmp/run/bus.pid ]] && kill "$(cat "$tmp/run/bus.pid")" 2>/dev/null || true
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT

# The fenced block after "## Examples", without its fences.
awk '/^## Examples$/ { on = 1; next } on && /^```sh$/ { body = 1; next } body && /^```$/ { exit } body { print }' \
    "$source_dir/docs/hangarctl.md" >"$script"
[[ -s $script ]] || { echo "docs/hangarctl.md has no \`\`\`sh block under '## Examples'" >&2; exit 1; }
grep -q '^hangarctl ' "$script" || { echo "the examples run no hangarctl command" >&2; exit 1; }

# A clean environment, as a new user's shell would have; the sanitizer stage's options (tests/sanitizers/env.sh) are
# passed on, so the sanitized hangard and hangarctl report as they do everywhere else.
sanitizer_env=()
for name in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; do
    [[ -n ${!name:-} ]] && sanitizer_env+=("$name=${!name}")
done
env -i PATH="$build_dir/daemon:$build_dir/client:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$tmp/home" \
    XDG_RUNTIME_DIR="$tmp/run" LANG=C.UTF-8 "${sanitizer_env[@]}" setsid bash -e -o pipefail "$script" \
    >"$tmp/out" 2>&1 &
block=$!
status=0
wait "$block" || status=$?
if ((status != 0)); then
    echo "docs/hangarctl.md's examples failed (exit $status); their output:" >&2
    cat "$tmp/out" >&2
    [[ -r $tmp/run/hangard.log ]] && { echo "--- hangard.log" >&2; tail -n 20 "$tmp/run/hangard.log" >&2; }
    exit 1
fi
block=
# SIGTERM takes a moment: poll with a deadline.
bus_pid=$(cat "$tmp/run/bus.pid" 2>/dev/null || true)
deadline=$((SECONDS + 5))
while [[ -n $bus_pid ]] && kill -0 "$bus_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
if [[ -n $bus_pid ]] && kill -0 "$bus_pid" 2>/dev/null; then
    echo "the examples left their dbus-daemon running" >&2
    exit 1
fi
grep -q "^web-1$" "$tmp/out" || { echo "the running VM was not listed:" >&2; cat "$tmp/out" >&2; exit 1; }
echo "docs/hangarctl.md examples ok: $(grep -c '^hangarctl ' "$script") hangarctl lines ran"
