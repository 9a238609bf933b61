#!/usr/bin/env bash
# Benchmarks Hangar side by side with libvirt-dbus and the raw libvirt C API, on this machine, in one run, and prints
# one table (docs/performance.md explains it). Installs what it needs (the build dependencies and Debian's
# libvirt-dbus), builds hangard and bench/ in Release in build-bench/, then runs build-bench/bench/hangar-bench, which
# starts each system on its own private D-Bus bus, gives each the same N VMs (N = 100, 1,000, 10,000) and runs the
# scenarios. Made to finish within 10 minutes: an N that does not fit in what is left is reported as not finished.
#
# As root, the run happens in new mount and PID namespaces (unshare), where a throw-away copy of /etc holds a user
# made for the polkit scenario (hangar-bench, group hangar) and polkitd's actions and rules directories hold only
# Hangar's: the host's users and polkit configuration are not touched. Everything the run starts is a child
# tracked by PID and killed by PID at the end, also on failure or Ctrl-C; the namespace takes any leftover with it.
# Not root: the same run without the polkit scenario (and without installing anything).
#
#   scripts/bench.sh [hangar-bench options...]      e.g. --sizes=100,1000 --concurrency-seconds=5
#
# The table is also written to build-bench/bench-results.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
bench_bin=$repo/build-bench/bench/hangar-bench
bench_user=hangar-bench

# ---- inner stage: PID 1 of the private namespaces ------------------------------------------------------------------
if [[ ${HANGAR_BENCH_STAGE:-} == inner ]]; then
    unset HANGAR_BENCH_STAGE
    root=$HANGAR_BENCH_MOUNT_POINT
    unset HANGAR_BENCH_MOUNT_POINT
    mount -t tmpfs -o mode=0755 hangar-bench "$root"

    cp -a /etc "$root/etc"
    find "$root/etc/polkit-1/rules.d" -mindepth 1 -delete 2>/dev/null || true
    mount --bind "$root/etc" /etc
    mkdir -m 0755 "$root/polkit-actions"
    install -m 0644 "$repo/polkit/org.hangar.Hangar1.policy" "$root/polkit-actions/"
    mkdir -m 0700 "$root/polkit-rules"
    install -m 0644 "$repo/polkit/50-hangar.rules" "$root/polkit-rules/"
    polkit_user=$(stat -c %U /usr/share/polkit-1/rules.d)
    chown -R "$polkit_user:root" "$root/polkit-rules" /etc/polkit-1/rules.d
    chmod 0700 /etc/polkit-1/rules.d
    mount --bind "$root/polkit-actions" /usr/share/polkit-1/actions
    mount --bind "$root/polkit-rules" /usr/share/polkit-1/rules.d
    getent group hangar >/dev/null || groupadd hangar
    id "$bench_user" >/dev/null 2>&1 || useradd -M -N -g hangar -s /usr/sbin/nologin "$bench_user"

    # Nothing here may reach the host's buses by accident: every system gets its own private bus.
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$root/no-system-bus"
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$root/no-session-bus"

    driver=
    trap '[[ -n $driver ]] && kill -TERM "$driver" 2>/dev/null; exit 130' TERM INT HUP
    "$bench_bin" --polkit-user="$bench_user" "$@" &
    driver=$!
    status=0
    wait "$driver" || status=$?
    exit "$status"
fi

# ---- outer stage ----------------------------------------------------------------------------------------------------
started=$(date +%s)
cd "$repo"

if ((EUID == 0)); then
    scripts/install-deps.sh
    if ! command -v libvirt-dbus >/dev/null && [[ ! -x /usr/sbin/libvirt-dbus ]]; then
        echo "bench: installing libvirt-dbus"
        log=$(mktemp /tmp/hangar-bench-apt.XXXXXX.log)
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvirt-dbus >"$log" 2>&1 || {
            apt-get update >>"$log" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvirt-dbus >>"$log" 2>&1
        } || { tail -n 30 "$log" >&2; exit 1; }
        rm -f "$log"
    fi
else
    echo "bench: not root: installing nothing, and no polkit scenario (it needs a private mount namespace)"
fi
[[ -x /usr/sbin/libvirt-dbus ]] || { echo "bench: /usr/sbin/libvirt-dbus is missing" >&2; exit 1; }

echo "bench: building hangard and hangar-bench (Release) in build-bench/"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DHANGAR_BUILD_BENCH=ON -DHANGAR_BUILD_TESTS=OFF \
    -DHANGAR_WERROR=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target hangard hangar-bench >/dev/null

# The build has just kept both CPUs busy and the load average lags behind it: give the machine up to a minute to
# settle (the figures are only as quiet as the machine is).
busy() { awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l > 1.5) }'; }
waited=0
while busy && ((waited < 60)); do
    sleep 5
    waited=$((waited + 5))
done
((waited == 0)) || echo "bench: waited ${waited}s for the load to settle"

budget=$((600 - ($(date +%s) - started) - 20))
echo "bench: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), kernel $(uname -r)"
echo "bench: libvirt $(dpkg-query -W -f='${Version}' libvirt0), libvirt-dbus $(dpkg-query -W -f='${Version}' \
libvirt-dbus), dbus-daemon $(dpkg-query -W -f='${Version}' dbus-daemon), polkitd $(dpkg-query -W -f='${Version}' \
polkitd 2>/dev/null || echo -)"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg); time budget for the run: ${budget}s"
if busy; then
    echo "bench: warning: the machine is busy (1-minute load $load): the figures will carry that noise"
fi

results=$repo/build-bench/bench-results.md
# Everything the run writes (buses, stores, logs) goes under one directory, removed at the end whatever happens.
work=$(mktemp -d /tmp/hangar-bench-run.XXXXXX)
chmod 0755 "$work"
runner=
cleanup() {
    if [[ -n $runner ]]; then
        # unshare ignores SIGTERM while it waits for its child; SIGKILL makes it take the whole namespace with it
        # (--kill-child). The driver run directly stops its children by PID on SIGTERM.
        if [[ -n ${mount_point:-} ]]; then
            kill -KILL "$runner" 2>/dev/null || true
        else
            kill -TERM "$runner" 2>/dev/null || true
        fi
        wait "$runner" 2>/dev/null || true
    fi
    [[ -n ${mount_point:-} ]] && rmdir "$mount_point" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export TMPDIR=$work

if ((EUID == 0)) && command -v unshare >/dev/null; then
    mount_point=$(mktemp -d /tmp/hangar-bench-ns.XXXXXX)
    HANGAR_BENCH_MOUNT_POINT=$mount_point HANGAR_BENCH_STAGE=inner \
        unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
        "$BASH" "$here/bench.sh" --budget="$budget" "$@" >"$results.tmp" &
else
    "$bench_bin" --budget="$budget" "$@" >"$results.tmp" &
fi
runner=$!
status=0
wait "$runner" || status=$?
runner=
mv "$results.tmp" "$results"
echo
cat "$results"
echo
echo "bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - started))s; table in $results"
exit "$status"
