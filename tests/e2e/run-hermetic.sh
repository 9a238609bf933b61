#!/usr/bin/env bash
# Runs the end-to-end tests (or any command) where a libvirtd started by hand cannot touch the host's libvirt:
#
#   run-hermetic.sh TEST-BINARY [ARGS...]
#
# As root, the command runs in new mount, PID and network namespaces (unshare) where
#   - a tmpfs holds everything the run makes (HANGAR_E2E_ROOT, also TMPDIR);
#   - a copy of /etc is bind-mounted over /etc (so the harness may add the libvirt-qemu user and write qemu.conf);
#     in it /etc/libvirt starts empty: none of the host's domains, networks, pools, hooks or driver settings;
#   - /run/libvirt, /var/lib/libvirt and /var/log/libvirt are empty directories of that tmpfs;
#   - /var/cache/libvirt is HANGAR_E2E_CACHE_DIR when set (scripts/test.sh keeps one in the build tree: libvirt's
#     QEMU capability cache, which saves the ~10 s probe of QEMU on later runs), else an empty directory;
#   - the network namespace has only its loopback (up): QEMU's VNC server listens there, guests use user-mode
#     networking, and nothing libvirt does reaches the host's interfaces, bridges or firewall.
# The command is a child of PID 1 of the new PID namespace (this script's inner stage). When that ends, or when
# unshare is killed (--kill-child), the kernel kills every process left in the namespace (libvirtd, every QEMU,
# dbus-daemon, hangard) and the mounts disappear with it: nothing outlives the run, even after a crash of the test
# binary. The harness inside also stops everything it started by PID. Afterwards the outer stage removes the
# (empty) mount point. Only a SIGKILL of this script itself leaves that empty directory behind in /tmp.
#
# Not root: the command runs as it is (the test binary then skips, or fails when CI=true).
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 TEST-BINARY [ARGS...]" >&2
    exit 2
fi

if [[ ${HANGAR_E2E_STAGE:-} == inner ]]; then
    unset HANGAR_E2E_STAGE
    root=$HANGAR_E2E_MOUNT_POINT
    unset HANGAR_E2E_MOUNT_POINT
    mount -t tmpfs -o mode=0755 hangar-e2e-tests "$root"

    cp -a /etc "$root/etc"
    rm -rf "$root/etc/libvirt"
    mkdir -m 0755 "$root/etc/libvirt"
    echo "copy of /etc made by $0 for one test run" >"$root/etc/hangar-e2e-hermetic"
    mount --bind "$root/etc" /etc

    # (A mount point that does not exist yet is created empty on the host: libvirt's packages create them anyway.)
    for dir in /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
        source=$root/mnt$dir
        if [[ $dir == /var/cache/libvirt && -n ${HANGAR_E2E_CACHE_DIR:-} ]]; then
            source=$HANGAR_E2E_CACHE_DIR
        fi
        mkdir -p "$dir" "$source"
        mount --bind "$source" "$dir"
    done

    ip link set lo up

    # Nothing in here may reach the host's buses by accident: the tests pass their private bus explicitly.
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$root/no-system-bus"
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$root/no-session-bus"
    export HANGAR_E2E_ROOT="$root"
    export TMPDIR="$root"

    status=0
    "$@" || status=$?
    exit "$status"
fi

if [[ $(id -u) -ne 0 ]]; then
    exec "$@"
fi

mount_point=$(mktemp -d /tmp/hangar-e2e-tests-XXXXXX)
HANGAR_E2E_MOUNT_POINT=$mount_point HANGAR_E2E_STAGE=inner \
    unshare --mount --propagation private --pid --fork --kill-child --mount-proc --net "$BASH" "$0" "$@" &
ns=$!
# A timeout or a Ctrl-C: kill unshare, and with it (--kill-child) the whole namespace.
trap 'kill -KILL "$ns" 2>/dev/null || true' TERM INT HUP
status=0
wait "$ns" || status=$?
# After a signal, wait returned early: let unshare finish dying before the mount point is removed.
while kill -0 "$ns" 2>/dev/null; do wait "$ns" || true; done
rmdir "$mount_point" 2>/dev/null || echo "run-hermetic.sh: could not remove $mount_point" >&2
exit "$status"
