# Sourced by the shell tests that drive a real hangard (tests/completion.sh, tests/sanitizers/valgrind-hangard.sh):
# a temporary directory $tmp, a private dbus-daemon in it whose address is $bus, and an EXIT trap that stops every
# PID in $pids (last started first: hangard before its bus) and removes $tmp. The sourcing script appends the PIDs
# of what it starts to $pids. wait_for SECONDS COMMAND... polls a condition with a deadline.
tmp=$(mktemp -d)
pids=()
cleanup() {
    local status=$? i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null; done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT

wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.05; done
}

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
wait_for 10 test -S "$tmp/bus"
