#!/usr/bin/env bash
# Runs the polkit integration tests (or any command) in a throw-away copy of the host's configuration, so they can
# create Unix users and install polkit actions and rules without touching the host:
#
#   run-hermetic.sh TEST-BINARY [ARGS...]
#
# As root, the command runs in new mount and PID namespaces (unshare) where
#   - a tmpfs holds everything the run makes (HANGAR_HERMETIC_ROOT, also TMPDIR);
#   - a copy of /etc is bind-mounted over /etc: useradd/groupadd change only the copy, and polkitd, dbus-daemon,
#     setpriv and the daemon all resolve the test users from it;
#   - /usr/share/polkit-1/actions holds only the repository's polkit/org.hangar.Hangar1.policy, and
#     /usr/share/polkit-1/rules.d only polkit/50-hangar.rules; /etc/polkit-1/rules.d (in the copy) starts empty, for
#     rules a test adds itself;
#   - an installed org.hangar.Hangar1.conf in /usr/share/dbus-1/system.d, if any, is covered by the repository's.
# The command is a child of PID 1 of the new PID namespace (this script's inner stage). When that ends, or when
# unshare is killed (--kill-child), the kernel kills every process left in the namespace and the mounts disappear
# with it: nothing the tests started or made outlives the run. Afterwards the outer stage removes the (empty) mount
# point and checks that the host's user database did not change. Only a SIGKILL of this script itself leaves that
# empty directory behind in /tmp.
#
# Not root: the command runs as it is; the test binary then skips (or fails when CI=true).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$here/../../.." && pwd)

if [[ $# -lt 1 ]]; then
    echo "usage: $0 TEST-BINARY [ARGS...]" >&2
    exit 2
fi

if [[ ${HANGAR_HERMETIC_STAGE:-} == inner ]]; then
    unset HANGAR_HERMETIC_STAGE
    root=$HANGAR_HERMETIC_MOUNT_POINT
    unset HANGAR_HERMETIC_MOUNT_POINT
    mount -t tmpfs -o mode=0755 hangar-polkit-tests "$root"

    # The private /etc. The marker tells the test binary that /etc is the copy (it refuses to add users otherwise).
    cp -a /etc "$root/etc"
    find "$root/etc/polkit-1/rules.d" -mindepth 1 -delete 2>/dev/null || true
    echo "copy of /etc made by $0 for one test run" > "$root/etc/hangar-hermetic-etc"
    mount --bind "$root/etc" /etc

    # Only Hangar's polkit actions and rules. polkitd wants its rules directories to itself (owner polkitd, 0700).
    mkdir -m 0755 "$root/polkit-actions"
    install -m 0644 "$source_dir/polkit/org.hangar.Hangar1.policy" "$root/polkit-actions/"
    mkdir -m 0700 "$root/polkit-rules"
    install -m 0644 "$source_dir/polkit/50-hangar.rules" "$root/polkit-rules/"
    polkit_user=$(stat -c %U /usr/share/polkit-1/rules.d)
    chown -R "$polkit_user:root" "$root/polkit-rules" /etc/polkit-1/rules.d
    chmod 0700 /etc/polkit-1/rules.d
    mount --bind "$root/polkit-actions" /usr/share/polkit-1/actions
    mount --bind "$root/polkit-rules" /usr/share/polkit-1/rules.d

    installed_policy=/usr/share/dbus-1/system.d/org.hangar.Hangar1.conf
    if [[ -e $installed_policy ]]; then
        mount --bind "$source_dir/dbus/org.hangar.Hangar1.conf" "$installed_policy"
    fi

    # Nothing in here may reach the host's buses by accident: the tests pass their private bus explicitly.
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$root/no-system-bus"
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$root/no-session-bus"
    export HANGAR_HERMETIC_ROOT="$root"
    export TMPDIR="$root"

    status=0
    "$@" || status=$?
    exit "$status"
fi

if [[ $(id -u) -ne 0 ]]; then
    exec "$@"
fi

snapshot() { cat /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null | sha256sum; }
before=$(snapshot)

# The tmpfs's mount point: an empty directory on the host, removed here once the namespace (and its mount) is gone.
mount_point=$(mktemp -d /tmp/hangar-polkit-tests-XXXXXX)
HANGAR_HERMETIC_MOUNT_POINT=$mount_point HANGAR_HERMETIC_STAGE=inner \
    unshare --mount --propagation private --pid --fork --kill-child --mount-proc "$BASH" "$0" "$@" &
ns=$!
# ctest's timeout or a Ctrl-C: kill unshare, and with it (--kill-child) the whole namespace.
trap 'kill -KILL "$ns" 2>/dev/null || true' TERM INT HUP
status=0
wait "$ns" || status=$?
# After a signal, wait returned early: let unshare finish dying before the mount point is removed.
while kill -0 "$ns" 2>/dev/null; do wait "$ns" || true; done
rmdir "$mount_point" 2>/dev/null || echo "run-hermetic.sh: could not remove $mount_point" >&2

if [[ $(snapshot) != "$before" ]]; then
    echo "run-hermetic.sh: the host's user database changed during the run; it must not" >&2
    exit 1
fi
exit "$status"
