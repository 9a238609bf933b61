#!/usr/bin/env bash
# Builds Hangar's Debian packages and checks them installed on this machine (issue 15, item 2), as CI does
# (scripts/test.sh, stage "deb"):
#   1. dpkg-buildpackage -us -uc -b in a copy of the source tree (BUILD_DIR/deb/src; the tree itself stays clean),
#      the .debs collected in BUILD_DIR/deb/out; lintian on the .changes (an error or warning fails);
#   2. apt-get install of the three .debs; user and group hangar exist, hangar is in group libvirt, group hangar-admin
#      exists, /var/lib/hangar is hangar's with mode 0711; systemd-analyze verify on the installed unit, whose
#      ExecStart= names the installed /usr/sbin/hangard;
#   3. a private dbus-daemon configured as a system bus from the installed policy directories (stock system.conf,
#      only its socket moved), the real polkitd reading the installed actions and rules, and the installed
#      /usr/sbin/hangard run as user hangar (test:///default: this machine has no libvirtd of its own); hangarctl
#      list, create and delete through polkit;
#   4. apt-get purge of the three packages; nothing they installed is left, nor /var/lib/hangar, /etc/hangar or the
#      unit's enablement links. The user and group hangar stay, as Debian policy wants, unless this script created
#      them (then it removes them, and the group libvirt if it created that too).
# Always, even on failure (trap): the processes it started are stopped by PID, and the packages are purged.
# Needs root. Usage: scripts/check-deb.sh [BUILD_DIR]   (default: build)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source_dir=$PWD
build_dir=$(realpath -m "${1:-build}")
readonly packages=(hangar hangar-cockpit hangar-gtk)

step() { printf 'check-deb: %s\n' "$*"; }
die() { printf 'check-deb: error: %s\n' "$*" >&2; exit 1; }
((EUID == 0)) || die "needs root (it installs the packages)"

work=$build_dir/deb
tmp=$(mktemp -d /tmp/hangar-check-deb.XXXXXX)
chmod 755 "$tmp"
pids=()
# What existed before: only what this script created is removed at the end.
existed() { getent "$1" "$2" >/dev/null && echo yes || echo no; }
had_user_hangar=$(existed passwd hangar)
had_group_hangar=$(existed group hangar)
had_group_admin=$(existed group hangar-admin)
had_group_libvirt=$(existed group libvirt)
installed=no

cleanup() {
    local status=$?
    set +e
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null
    done
    if [[ $installed == yes ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y "${packages[@]}" >>"$tmp/apt.log" 2>&1
    fi
    [[ $had_user_hangar == no ]] && getent passwd hangar >/dev/null && userdel hangar
    [[ $had_group_hangar == no ]] && getent group hangar >/dev/null && groupdel hangar
    [[ $had_group_admin == no ]] && getent group hangar-admin >/dev/null && groupdel hangar-admin
    [[ $had_group_libvirt == no ]] && getent group libvirt >/dev/null && groupdel libvirt
    if ((status != 0)); then
        for log in "$tmp"/*.log; do
            [[ -s $log ]] && { echo "--- $log (last lines)"; tail -n 30 "$log"; }
        done >&2
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for pkg in "${packages[@]}"; do
    if dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^[ih]i'; then
        die "$pkg is already installed: this check installs and purges it itself"
    fi
done

# 1. Build, in a copy of the files git knows (committed or not, ignored ones such as build/ and node_modules left
# out). The path stays the same from run to run, so ccache (base_dir /work) serves the rebuilds.
step "dpkg-buildpackage in $work/src"
rm -rf "$work"
mkdir -p "$work/src/hangar" "$work/out"
# (A file deleted but still tracked is skipped: --ignore-failed-read.)
git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$work/src/hangar"
start=$SECONDS
if ! (cd "$work/src/hangar" && PATH=/usr/lib/ccache:$PATH DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    die "dpkg-buildpackage failed (log: $tmp/build.log)"
fi
mv "$work"/src/*.deb "$work"/src/*.changes "$work"/src/*.buildinfo "$work/out/"
step "built in $((SECONDS - start)) s: $(cd "$work/out" && echo *.deb)"

changes=$(echo "$work"/out/*.changes)
if ! lintian --fail-on error,warning --info "$changes" >"$tmp/lintian.log" 2>&1; then
    cat "$tmp/lintian.log" >&2
    die "lintian reports errors or warnings"
fi
step "lintian: $(grep -c . "$tmp/lintian.log" || true) tag(s) below warning level$(sed 's/^/\n  /' "$tmp/lintian.log")"

# 2. Install.
installed=yes
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "$work"/out/hangar_*.deb "$work"/out/hangar-cockpit_*.deb "$work"/out/hangar-gtk_*.deb >"$tmp/apt.log" 2>&1; then
    die "apt-get install failed"
fi
step "installed: $(dpkg-query -W -f='${Package} ${Version}, ' "${packages[@]}")"
# What the packages own, to check after purge.
dpkg-query -L "${packages[@]}" | sort -u >"$tmp/owned"

getent passwd hangar >/dev/null || die "no user hangar after install"
getent group hangar >/dev/null || die "no group hangar after install"
getent group hangar-admin >/dev/null || die "no group hangar-admin after install"
id -nG hangar | tr ' ' '\n' | grep -qx libvirt || die "user hangar is not in group libvirt"
[[ $(stat -c '%U:%G %a' /var/lib/hangar) == 'hangar:hangar 711' ]] ||
    die "/var/lib/hangar is $(stat -c '%U:%G %a' /var/lib/hangar), not hangar:hangar 711"
unit=/lib/systemd/system/hangard.service
grep -qx 'ExecStart=/usr/sbin/hangard --bus=system' "$unit" || die "installed unit: $(grep ^ExecStart= "$unit")"
if ! out=$(systemd-analyze verify "$unit" 2>&1) || [[ -n $out ]]; then
    die "systemd-analyze verify $unit: $out"
fi
step "user hangar ($(id hangar)), /var/lib/hangar 0711, systemd-analyze verify ok"
for page in hangard.8 hangarctl.1 hangard.conf.5; do
    man -w "${page%.*}" >/dev/null 2>&1 || die "man page $page is not installed where man finds it"
done

# 3. The installed daemon on a private system bus with the installed policy, and the real polkitd.
socket=$tmp/system_bus_socket
# Relative to the file, "system.d" would be looked for next to the copy: it is made absolute. No activation (no
# service directories, no launch helper): hangard is started below, as the unit would start it.
sed -e "s#<listen>.*</listen>#<listen>unix:path=$socket</listen>#" -e '/<fork\/>/d' -e '/<pidfile>/d' \
    -e '/<user>/d' -e '/<syslog\/>/d' -e '/<standard_system_servicedirs\/>/d' -e '/<servicehelper>/d' \
    -e 's#<includedir>system.d</includedir>#<includedir>/usr/share/dbus-1/system.d</includedir>#' \
    /usr/share/dbus-1/system.conf >"$tmp/system.conf"
grep -q '<includedir>/usr/share/dbus-1/system.d</includedir>' "$tmp/system.conf" ||
    die "system.conf does not include /usr/share/dbus-1/system.d"
grep -q "<listen>unix:path=$socket</listen>" "$tmp/system.conf" || die "could not move the socket in system.conf"
dbus-daemon --config-file="$tmp/system.conf" --nofork --nopidfile >"$tmp/dbus-daemon.log" 2>&1 &
pids+=($!)
bus=unix:path=$socket
# Polls a condition with a deadline (seconds), never a fixed sleep.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}
wait_for 10 test -S "$socket" || die "dbus-daemon did not create $socket"
chmod 777 "$socket"
DBUS_SYSTEM_BUS_ADDRESS=$bus /usr/lib/polkit-1/polkitd --no-debug >"$tmp/polkitd.log" 2>&1 &
pids+=($!)
wait_for 10 busctl --address="$bus" status org.freedesktop.PolicyKit1 || die "polkitd did not get its bus name"
# As the unit runs it: user hangar, group hangar, supplementary group libvirt.
setpriv --reuid=hangar --regid=hangar --init-groups -- /usr/sbin/hangard --bus="$bus" --hypervisor=test:///default \
    >"$tmp/hangard.log" 2>&1 &
pids+=($!)
hangard_pid=$!
wait_for 20 busctl --address="$bus" status org.hangar.Hangar1 || die "hangard did not get org.hangar.Hangar1"
kill -0 "$hangard_pid" || die "hangard exited"
ctl() { hangarctl --bus="$bus" --no-ask-password "$@"; }
ctl list >"$tmp/list.log" 2>&1 || die "hangarctl list failed: $(cat "$tmp/list.log")"
ctl create deb-check --memory 128M --disk 1G >"$tmp/create.log" 2>&1 ||
    die "hangarctl create (authorized by polkit for root) failed: $(cat "$tmp/create.log")"
ctl list | grep -q '^deb-check ' || die "hangarctl list does not show the VM just created"
ctl delete deb-check >"$tmp/delete.log" 2>&1 || die "hangarctl delete failed: $(cat "$tmp/delete.log")"
step "installed hangard (as user hangar) on a private system bus with the installed policy and polkitd: hangarctl list, create, delete ok"
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" && wait "${pids[i]}" || true
done
pids=()

# 4. Purge: nothing of the packages left.
DEBIAN_FRONTEND=noninteractive apt-get purge -y "${packages[@]}" >>"$tmp/apt.log" 2>&1 || die "apt-get purge failed"
installed=no
left=()
while read -r path; do
    [[ -e $path && ! -d $path ]] && left+=("$path")
done <"$tmp/owned"
for path in /var/lib/hangar /etc/hangar /usr/share/cockpit/hangar /usr/share/doc/hangar; do
    [[ -e $path ]] && left+=("$path")
done
while read -r path; do left+=("$path"); done < <(find /etc/systemd/system -name '*hangar*' 2>/dev/null)
((${#left[@]} == 0)) || die "left after purge: ${left[*]}"
step "purged: no file of the packages, no /var/lib/hangar, /etc/hangar or unit links left (user hangar: $(
    [[ $had_user_hangar == yes ]] && echo "existed before, kept" || echo "created by this check, removed"))"
