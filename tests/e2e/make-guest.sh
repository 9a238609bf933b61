#!/usr/bin/env bash
# Builds the tiny guest of the end-to-end suite from Debian packages, at test time:
#   OUTDIR/vmlinuz     the distribution kernel (newest /boot/vmlinuz-* of linux-image-amd64), copied
#   OUTDIR/initrd.gz   a busybox-static initramfs (cpio newc, gzip) whose /init
#                        - mounts proc, sys, devtmpfs;
#                        - loads evdev and the ACPI button driver (modules of that kernel: Debian builds them as =m),
#                          and powers the guest off (busybox poweroff -f) on the first event of the "Power Button"
#                          input device, i.e. when libvirt/QEMU press the ACPI power button (virsh shutdown,
#                          Hangar's Stop without force). The domain needs <features><acpi/></features> for the
#                          power-off itself to end it. With "hangar_e2e_ignore_power_button" on the kernel command
#                          line it ignores the button instead (a guest that does not stop when asked);
#                        - answers every line typed on ttyS0 with "HANGAR-E2E-ECHO <line>";
#                        - prints "HANGAR-E2E-GUEST-UP <n>" on /dev/ttyS0 once a second, forever (so a console
#                          opened at any time sees the marker: a pty serial drops what nobody reads); the first
#                          one only once the power button is being watched, so a guest that showed the marker
#                          obeys a power-off request;
#                        - when a CD-ROM labelled "cidata" (Hangar's cloud-init seed) is attached: mounts it and
#                          prints its meta-data and user-data on ttyS0, each line as "HANGAR-E2E-SEED <file>: <line>",
#                          then "HANGAR-E2E-SEED-END", every 2 seconds (like the marker: a console may open late).
# Boot it with the kernel command line "console=ttyS0" (add "quiet" to keep the serial line short).
#
#                      - runs the QEMU guest agent (qemu-ga, with its libraries) on its virtio port.
# Usage: make-guest.sh OUTDIR       Needs: linux-image-amd64, busybox-static, cpio, gzip, qemu-guest-agent
#                                   (scripts/install-deps.sh).
set -euo pipefail

die() { printf 'make-guest: error: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: $0 OUTDIR"
outdir=$1
mkdir -p "$outdir"

kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
[[ -n "$kernel" ]] || die "no /boot/vmlinuz-*: install linux-image-amd64 (scripts/install-deps.sh)"
[[ -r /boot/$kernel ]] || die "/boot/$kernel is not readable"
kver=${kernel#vmlinuz-}
moddir=/lib/modules/$kver
busybox=/bin/busybox
[[ -x $busybox ]] || die "no $busybox: install busybox-static"
# The initramfs has no libc: busybox must be the static build (busybox-static, not busybox).
[[ "$(LC_ALL=C ldd "$busybox" 2>&1 || true)" == *"not a dynamic executable"* ]] ||
    die "$busybox is dynamically linked: install busybox-static"
command -v cpio >/dev/null || die "no cpio: install cpio"

root=$(mktemp -d "${TMPDIR:-/tmp}/hangar-e2e-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp "$busybox" "$root/bin/busybox"
for applet in sh mount mkdir cat echo sleep insmod poweroff dd wc grep basename; do
    ln -s busybox "$root/bin/$applet"
done
# The two modules the power button needs (absent in a kernel that has them built in: then nothing to load).
for mod in kernel/drivers/input/evdev.ko kernel/drivers/acpi/button.ko; do
    if [[ -f $moddir/$mod ]]; then
        cp "$moddir/$mod" "$root/lib/modules/"
    elif [[ -f $moddir/$mod.xz ]]; then
        xz -dc "$moddir/$mod.xz" >"$root/lib/modules/$(basename "$mod")"
    fi
done

# ---- the cloud-init seed (issue 13): the IDE CD-ROM and ISO 9660 drivers, loaded in this order by the block in
# /init below (a directory of their own: the loop above loads only /lib/modules/*.ko).
mkdir -p "$root/lib/modules/seed"
seedmods=(kernel/drivers/scsi/scsi_common.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/ata/libata.ko
    kernel/drivers/ata/ata_piix.ko kernel/drivers/cdrom/cdrom.ko kernel/drivers/scsi/sr_mod.ko kernel/fs/isofs/isofs.ko)
i=0
for mod in "${seedmods[@]}"; do
    i=$((i + 1))
    target="$root/lib/modules/seed/$i-$(basename "$mod")"
    if [[ -f $moddir/$mod ]]; then
        cp "$moddir/$mod" "$target"
    elif [[ -f $moddir/$mod.xz ]]; then
        xz -dc "$moddir/$mod.xz" >"$target"
    fi
done
# ---- end of the seed's part

cat >"$root/init" <<'EOF'
#!/bin/sh
# PID 1 of Hangar's end-to-end test guest. Never exits (the kernel would panic).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m" 2>/dev/null; done
[ -x /bin/start-qemu-ga ] && /bin/start-qemu-ga </dev/null >/dev/null 2>&1 &

# Power off on the ACPI power button: its input device emits only KEY_POWER, so any event read from it is a press.
watch_power_button() {
    if grep -q hangar_e2e_ignore_power_button /proc/cmdline; then
        echo "HANGAR-E2E-GUEST-IGNORES-POWER-BUTTON" >/dev/ttyS0
        : >/tmp/power-button-armed
        return
    fi
    n=0
    while [ $n -lt 100 ]; do
        for d in /sys/class/input/event*; do
            [ -r "$d/device/name" ] || continue
            if [ "$(cat "$d/device/name")" = "Power Button" ]; then
                dev=/dev/input/$(basename "$d")
                : >/tmp/power-button-armed
                # Only a successful read of a whole event counts (the device node may still be on its way).
                until [ "$(dd if="$dev" bs=24 count=1 2>/dev/null | wc -c)" = 24 ]; do sleep 0.1; done
                echo "HANGAR-E2E-GUEST-POWEROFF" >/dev/ttyS0
                poweroff -f
            fi
        done
        n=$((n + 1))
        sleep 0.1
    done
    echo "HANGAR-E2E-GUEST-NO-POWER-BUTTON" >/dev/ttyS0
}
watch_power_button &

# ---- the cloud-init seed (issue 13): find the CD-ROM labelled cidata (the volume id at byte 40 of sector 16),
# mount it and keep printing what it holds. Guests without a seed print nothing.
report_seed() {
    for m in /lib/modules/seed/*.ko; do [ -e "$m" ] && insmod "$m" 2>/dev/null; done
    n=0
    while [ $n -lt 100 ]; do
        for d in /dev/sr*; do
            [ -b "$d" ] || continue
            label=$(dd if="$d" bs=2048 skip=16 count=1 2>/dev/null | dd bs=1 skip=40 count=6 2>/dev/null)
            [ "$label" = cidata ] || continue
            mkdir -p /seed
            mount -t iso9660 -o ro "$d" /seed 2>/dev/null || mount -t iso9660 -o ro,nojoliet "$d" /seed || return
            while :; do
                for f in meta-data user-data; do
                    while IFS= read -r line; do echo "HANGAR-E2E-SEED $f: $line"; done <"/seed/$f"
                done >/dev/ttyS0
                echo "HANGAR-E2E-SEED-END" >/dev/ttyS0
                sleep 2
            done
        done
        n=$((n + 1))
        sleep 0.1
    done
}
report_seed &

# Echo every line typed on the serial console (proves the console carries input too).
( while read -r line; do echo "HANGAR-E2E-ECHO $line"; done ) </dev/ttyS0 >/dev/ttyS0 2>&1 &

# The first marker means "ready for everything": give the power button reader time to open its device (an event
# sent before that is lost) — it announced itself just before.
n=0
while [ ! -e /tmp/power-button-armed ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.3
i=0
while :; do
    echo "HANGAR-E2E-GUEST-UP $i" >/dev/ttyS0
    i=$((i + 1))
    sleep 1
done
EOF
chmod 755 "$root/init"

# --- The QEMU guest agent (VM.Exec, AddUser, InstallPackages; AgentConnected) -------------------------------------
# Debian's qemu-ga with its shared libraries and the dynamic loader, the virtio modules its port needs (loaded in
# dependency order from lib/modules/agent, which /init's own module loop does not see), the busybox applets
# AddUser's script uses, Debian's useradd (busybox-static has no adduser applet) with its libraries, login.defs and
# an empty /etc/skel, a root-only /etc/passwd, /etc/group and /etc/shadow, and /bin/start-qemu-ga, which
# /init runs in the background: it finds the agent's port by name under /sys/class/virtio-ports (no udev makes
# the /dev/virtio-ports symlink), links it and starts qemu-ga on it.
qemu_ga=/usr/sbin/qemu-ga
[[ -x $qemu_ga ]] || die "no $qemu_ga: install qemu-guest-agent"
mkdir -p "$root/usr/sbin" "$root/lib/modules/agent" "$root/etc/sudoers.d" "$root/home" "$root/root"
# A dynamic executable of the host and the shared libraries it loads, at the same paths in the guest.
copy_with_libraries() {
    cp "$1" "$root$1"
    LC_ALL=C ldd "$1" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while read -r lib; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}
copy_with_libraries "$qemu_ga"
[[ -x /usr/sbin/useradd ]] || die "no /usr/sbin/useradd: install passwd"
copy_with_libraries /usr/sbin/useradd
cp /etc/login.defs "$root/etc/login.defs"
mkdir -p "$root/etc/skel"
for mod in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
    for f in "$moddir/kernel/drivers/virtio/$mod.ko" "$moddir/kernel/drivers/virtio/$mod.ko.xz"; do
        [[ -f $f ]] || continue
        if [[ $f == *.xz ]]; then xz -dc "$f" >"$root/lib/modules/agent/$mod.ko"; else cp "$f" "$root/lib/modules/agent/"; fi
    done
done
for f in "$moddir/kernel/drivers/char/virtio_console.ko" "$moddir/kernel/drivers/char/virtio_console.ko.xz"; do
    [[ -f $f ]] || continue
    if [[ $f == *.xz ]]; then xz -dc "$f" >"$root/lib/modules/agent/virtio_console.ko"; else cp "$f" "$root/lib/modules/agent/"; fi
done
for applet in id awk chmod chown printf ln true false env ls rm head tail cut sed; do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
cat >"$root/bin/start-qemu-ga" <<'AGENT'
#!/bin/sh
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console; do
    [ -e /lib/modules/agent/$m.ko ] && insmod /lib/modules/agent/$m.ko 2>/dev/null
done
n=0
while [ $n -lt 100 ]; do
    for p in /sys/class/virtio-ports/*; do
        [ -r "$p/name" ] && [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ] || continue
        mkdir -p /dev/virtio-ports
        ln -sf "../$(basename "$p")" /dev/virtio-ports/org.qemu.guest_agent.0
        echo "HANGAR-E2E-QEMU-GA-STARTING" >/dev/ttyS0
        exec /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /tmp -f /tmp/qemu-ga.pid
    done
    n=$((n + 1))
    sleep 0.1
done
echo "HANGAR-E2E-NO-AGENT-PORT" >/dev/ttyS0
AGENT
chmod 755 "$root/bin/start-qemu-ga"
# -------------------------------------------------------------------------------------------------------------------

cp "/boot/$kernel" "$outdir/vmlinuz.tmp"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null --create --format=newc --quiet --owner=0:0) |
    gzip -n -6 >"$outdir/initrd.gz.tmp"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
mv "$outdir/initrd.gz.tmp" "$outdir/initrd.gz"
printf 'make-guest: %s (kernel %s, initramfs %s bytes)\n' "$outdir" "$kver" "$(stat -c %s "$outdir/initrd.gz")"
