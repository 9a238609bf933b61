#!/usr/bin/env bash
# The real-guest part of Hangar's demo: runs inside tests/e2e/run-hermetic.sh (private /etc copy, private libvirt
# directories, mount/PID/network namespaces), so the libvirtd it starts sees nothing of the host's and nothing it
# starts outlives it. Starts libvirtd by hand on private sockets, a private D-Bus bus and hangard against
# qemu:///system of that libvirtd, builds the tiny guest (Debian's kernel + a busybox initramfs), and runs a
# hangarctl session that boots it and shows its serial console.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -e /etc/hangar-e2e-hermetic ]] || { echo "run me through tests/e2e/run-hermetic.sh" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hangar-demo-guest.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# The QEMU driver looks this user up before it reads qemu.conf (only the /etc copy is changed).
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
  useradd --system --gid libvirt-qemu --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu

# QEMU as root without confinement, no virtlogd, no cgroups: what a machine without systemd allows (see
# ../shared/design/TEST-HARNESS-NOTES.md and tests/support/PrivateLibvirtd.cpp, which this mirrors).
cat >/etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
namespaces = [ ]
vnc_listen = "127.0.0.1"
CONF
cat >"$work/libvirtd.conf" <<CONF
unix_sock_dir = "$work"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$work/libvirtd.log"
CONF
uri="qemu:///system?socket=$work/libvirt-sock"

echo "==> starting libvirtd on private sockets (the first start probes QEMU for ~10 s)"
/usr/sbin/libvirtd -f "$work/libvirtd.conf" -p "$work/libvirtd.pid" >"$work/libvirtd.out" 2>&1 &
pids+=($!)
for _ in $(seq 900); do virsh -c "$uri" version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c "$uri" version >/dev/null 2>&1 || { echo "libvirtd did not answer:" >&2; tail "$work/libvirtd.log" >&2; exit 1; }

echo "==> building the tiny guest (Debian's kernel + a busybox-static initramfs)"
mkdir -p "$work/boot"
"$repo/tests/e2e/make-guest.sh" "$work/boot" >/dev/null

bus="unix:path=$work/bus"
dbus-daemon --session --nofork --nopidfile --address="$bus" >"$work/dbus.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do busctl --address="$bus" list >/dev/null 2>&1 && break; sleep 0.05; done

printf '[Daemon]\nstats_interval_sec = 1\n[Guest]\nboot_dir = %s\n' "$work/boot" >"$work/hangard.conf"
"$repo/build/daemon/hangard" --bus="$bus" --hypervisor="$uri" --state-dir="$work/state" \
  --config="$work/hangard.conf" --authorizer=allow-all >"$work/hangard.log" 2>&1 &
pids+=($!)
hangarctl_() { "$repo/build/client/hangarctl" --bus="$bus" "$@"; }
for _ in $(seq 200); do hangarctl_ list >/dev/null 2>&1 && break; sleep 0.05; done

ctl() {
  echo "\$ hangarctl $*"
  hangarctl_ "$@"
}
kernel=$(find "$work/boot" -maxdepth 1 -name 'vmlinuz*' -printf '%f\n' | head -n1)
initrd=$(find "$work/boot" -maxdepth 1 -name 'initrd*' -printf '%f\n' | head -n1)

echo "==> a hangarctl session with a real guest under QEMU"
echo "\$ qemu-img create -f qcow2 base.qcow2 2G   # a base image (empty here; a real one holds an installed system)"
qemu-img create -q -f qcow2 "$work/base.qcow2" 2G
ctl image import "$work/base.qcow2" --name base
ctl create tiny-1 --image base --cpus 1 --memory 256M --kernel "$kernel" --initrd "$initrd" \
  --cmdline "console=ttyS0 quiet"
disk=$(find "$work/state/pool" -maxdepth 1 -name 'vm-*.qcow2' | head -n1)
echo "\$ qemu-img info vm-UUID.qcow2   # the VM's disk: a copy-on-write overlay backed by the image"
qemu-img info --force-share "$disk" | grep -E '^(file format|virtual size|disk size|backing file)' |
  sed "s|$work/state/pool/||"
ctl start tiny-1
ctl list

echo "\$ hangarctl console tiny-1     # (read until the guest's marker appears, at most 60 s)"
# The console keeps reading while its stdin is open: feed it a sleep, and stop it once the marker is there.
(sleep 60 | hangarctl_ console tiny-1 >"$work/console.out" 2>&1) &
console=$!
pids+=("$console")
for _ in $(seq 600); do grep -q HANGAR-E2E-GUEST-UP "$work/console.out" 2>/dev/null && break; sleep 0.1; done
kill "$console" 2>/dev/null || true
pkill -P "$console" 2>/dev/null || true
grep -m1 HANGAR-E2E-GUEST-UP "$work/console.out" >/dev/null || { echo "no console output from the guest" >&2; exit 1; }
grep -a -v '^$' "$work/console.out" | head -n 12

for _ in $(seq 50); do
  [[ $(hangarctl_ --json stats tiny-1) == *cpu_percent* ]] && break
  sleep 0.1
done
ctl stats tiny-1
ctl status tiny-1
ctl stop tiny-1 --wait --timeout 30
ctl snapshot create tiny-1 first-boot
ctl snapshot list tiny-1
ctl delete tiny-1
ctl image delete base
echo "\$ virsh list --all   # nothing left behind"
virsh -c "$uri" list --all
ctl events
