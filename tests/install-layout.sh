#!/usr/bin/env bash
# Checks that `cmake --install` lays Hangar out as a distribution would (issue 15, item 1), from the prefix /usr and
# from /usr/local: binaries and man pages under the prefix, and the files dbus-daemon, polkitd and systemd read in the
# directories those programs look in (asked of pkg-config here, independently of cmake/HangarInstall.cmake), with
# the unit's ExecStart= and the activation file's Exec= naming the installed hangard. Installs into temporary DESTDIRs.
set -euo pipefail

build_dir=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

pc() { pkg-config --variable="$2" "$1"; }
dbus_services=$(pc dbus-1 system_bus_services_dir)
dbus_data=$(pc dbus-1 datadir)
polkit_actions=$(pc polkit-gobject-1 policydir)
polkit_data=$(pc polkit-gobject-1 datadir)
unit_dir=$(pc systemd systemdsystemunitdir)
sysusers_dir=$(pc systemd sysusersdir)
tmpfiles_dir=$(pc systemd tmpfilesdir)

status=0
fail() { echo "$prefix: $*" >&2; status=1; }
total=0
for prefix in /usr /usr/local; do
    root=$dest${prefix//\//_}
    DESTDIR="$root" cmake --install "$build_dir" --prefix "$prefix" >/dev/null
    expected=(
        "$prefix/sbin/hangard"
        "$prefix/bin/hangarctl"
        "$unit_dir/hangard.service"
        "$sysusers_dir/hangar.conf"
        "$tmpfiles_dir/hangar.conf"
        "$dbus_data/dbus-1/system.d/org.hangar.Hangar1.conf"
        "$dbus_services/org.hangar.Hangar1.service"
        "$dbus_data/dbus-1/interfaces/org.hangar.Hangar1.Manager.xml"
        "$dbus_data/dbus-1/interfaces/org.hangar.Hangar1.VM.xml"
        "$polkit_actions/org.hangar.Hangar1.policy"
        "$polkit_data/polkit-1/rules.d/50-hangar.rules"
        "$prefix/share/doc/hangar/hangard.conf.example"
    )
    # The man pages, when scdoc built them (HANGAR_BUILD_MAN).
    if [[ -e "$build_dir/docs/man/hangarctl.1" ]]; then
        expected+=("$prefix/share/man/man8/hangard.8" "$prefix/share/man/man1/hangarctl.1"
            "$prefix/share/man/man5/hangard.conf.5")
    fi
    # bash completion, under the prefix (bash-completion also looks in /usr/local/share/bash-completion/completions).
    expected+=("$prefix/share/bash-completion/completions/hangarctl")
    # hangar-gtk, when it was built (HANGAR_BUILD_GTK and its libraries present): the app, its menu entry and icon.
    if [[ -e "$build_dir/client/gtk/hangar-gtk" ]]; then
        expected+=("$prefix/bin/hangar-gtk" "$prefix/share/applications/org.hangar.HangarGtk.desktop"
            "$prefix/share/man/man1/hangar-gtk.1"
            "$prefix/share/icons/hicolor/scalable/apps/hangar-gtk.svg")
    fi
    # The Cockpit page, when it was built (HANGAR_BUILD_COCKPIT). Cockpit also looks in /usr/local/share/cockpit.
    if [[ -f "$build_dir/client/cockpit/dist/manifest.json" ]]; then
        expected+=("$prefix/share/cockpit/hangar/manifest.json" "$prefix/share/cockpit/hangar/index.html"
            "$prefix/share/cockpit/hangar/index.js" "$prefix/share/cockpit/hangar/index.css")
    fi
    for f in "${expected[@]}"; do
        [[ -e "$root$f" ]] || fail "missing after install: $f"
    done
    total=$((total + ${#expected[@]}))
    for exe in "$prefix/sbin/hangard" "$prefix/bin/hangarctl"; do
        [[ -x "$root$exe" ]] || fail "not executable: $exe"
    done
    unit=$root$unit_dir/hangard.service
    activation=$root$dbus_services/org.hangar.Hangar1.service
    grep -q '^Type=notify$' "$unit" || fail "hangard.service is not Type=notify"
    grep -q '^BusName=org.hangar.Hangar1$' "$unit" || fail "hangard.service has no BusName"
    grep -qx "ExecStart=$prefix/sbin/hangard --bus=system" "$unit" ||
        fail "hangard.service: $(grep '^ExecStart=' "$unit"), not the installed $prefix/sbin/hangard"
    grep -qx "Exec=$prefix/sbin/hangard --bus=system" "$activation" ||
        fail "activation file: $(grep '^Exec=' "$activation"), not the installed $prefix/sbin/hangard"
    grep -q '^SystemdService=dbus-org.hangar.Hangar1.service$' "$activation" || fail "activation file has no SystemdService"
    if grep -l '@[A-Z_]*@' "$unit" "$activation" >/dev/null; then
        fail "unreplaced @VARIABLE@ in: $(grep -l '@[A-Z_]*@' "$unit" "$activation" | tr '\n' ' ')"
    fi
    "$root$prefix/sbin/hangard" --help | grep -q -- '--hypervisor' ||
        fail "installed hangard --help does not document --hypervisor"
done
[[ $status -eq 0 ]] && echo "install layout ok for /usr and /usr/local ($total files)"
exit $status
