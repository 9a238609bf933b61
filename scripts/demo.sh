#!/usr/bin/env bash
# Hangar's main job, end to end on this machine: installs what is needed, builds, starts a private D-Bus bus and
# hangard on it with the embedded default (libvirt's test driver, a temporary state directory), and runs a short
# real hangarctl session against it. Everything it starts is stopped by PID on exit, and its temp dir removed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

scripts/install-deps.sh

echo "==> building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target hangard hangarctl >/dev/null

work=$(mktemp -d /tmp/hangar-demo.XXXXXX)
bus="unix:path=$work/bus"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting a private D-Bus bus and hangard (hypervisor test:///default, state in $work/state)"
dbus-daemon --session --nofork --nopidfile --address="unix:path=$work/bus" >"$work/dbus.log" 2>&1 &
pids+=($!)
# The socket file appears before dbus-daemon listens: ready is when a client gets an answer.
bus_ready() { busctl --address="$bus" list >/dev/null 2>&1; }
for _ in $(seq 100); do bus_ready && break; sleep 0.05; done
bus_ready || { echo "dbus-daemon did not start:" >&2; cat "$work/dbus.log" >&2; exit 1; }

"$repo/build/daemon/hangard" --bus="$bus" --hypervisor=test:///default --state-dir="$work/state" \
  --config="$work/no-config" --authorizer=allow-all >"$work/hangard.log" 2>&1 &
pids+=($!)

ctl() {
  echo "\$ hangarctl $*"
  "$repo/build/client/hangarctl" --bus="$bus" "$@"
}
# Ready when the manager answers (hangard owns its name only once the inventory is loaded).
hangard_ready() { "$repo/build/client/hangarctl" --bus="$bus" list >/dev/null 2>&1; }
for _ in $(seq 200); do hangard_ready && break; sleep 0.05; done
hangard_ready || { echo "hangard did not start:" >&2; cat "$work/hangard.log" >&2; exit 1; }

echo "==> a hangarctl session"
ctl create web-1 --cpus 2 --memory 1G --disk 20G --description "front end"
ctl create db-1 --cpus 4 --memory 4G --disk 100G
ctl start web-1 db-1
ctl list
ctl pause db-1
ctl status db-1
ctl resume db-1
ctl rename db-1 db-primary
ctl stop web-1 --wait
ctl list
echo "\$ hangarctl start web-1 web-1   # the second start is refused: it is already running"
"$repo/build/client/hangarctl" --bus="$bus" start web-1 web-1 || echo "(exit code $?, as documented)"
ctl delete web-1 --force
ctl stop db-primary --wait
ctl snapshot create db-primary before-upgrade --description "known good"
ctl snapshot list db-primary
ctl publish db-primary db-image
ctl create db-2 --image db-image
ctl clone db-2 db-3
ctl image show db-image
echo "\$ hangarctl image delete db-image   # refused: VMs are made from it"
"$repo/build/client/hangarctl" --bus="$bus" image delete db-image || echo "(exit code $?, as documented)"
ctl delete db-2
ctl delete db-3
ctl image delete db-image
ctl delete db-primary
ctl list
ctl events

echo "==> hangard's log"
cat "$work/hangard.log"
cleanup
trap - EXIT

# The same daemon with a real guest: libvirtd + QEMU (TCG where KVM does not really work), booting a tiny guest
# and showing its serial console. It needs root (libvirtd's QEMU driver as qemu:///system, namespaces to keep the
# host's libvirt untouched) and the packages install-deps.sh installs.
can_run_guests() {
  [[ $(id -u) -eq 0 ]] && [[ -x /usr/sbin/libvirtd ]] && command -v qemu-system-x86_64 >/dev/null &&
    command -v unshare >/dev/null && compgen -G '/boot/vmlinuz-*' >/dev/null
}
if can_run_guests; then
  echo "==> this machine can run QEMU: the same with a real guest"
  HANGAR_E2E_CACHE_DIR="$repo/build/e2e-libvirt-cache" tests/e2e/run-hermetic.sh "$repo/scripts/demo-guest.sh"
else
  echo "==> no real guest here (needs root, libvirtd's QEMU driver, QEMU and a kernel image):"
  echo "    the session above, on libvirt's test driver, is the demo"
fi
echo "==> the web dashboard: apt install cockpit; cmake --install build; add users to group hangar (or"
echo "    hangar-admin); log in at https://$(hostname):9090 and open Hangar in the menu (docs/web.md)"
echo "==> done: everything the demo started is stopped and its temporary files are removed"
