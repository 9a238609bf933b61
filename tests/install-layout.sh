#!/usr/bin/env bash
# Checks that `cmake --install` lays Hangar out as a distribution would (issue: install layout). Installs the build
# tree into a temporary DESTDIR and compares the file list with what must be there.
set -euo pipefail

build_dir=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

DESTDIR="$dest" cmake --install "$build_dir" --prefix /usr >/dev/null

expected=(
  usr/sbin/hangard
  usr/bin/hangarctl
  usr/lib/systemd/system/hangard.service
  usr/lib/sysusers.d/hangar.conf
  usr/lib/tmpfiles.d/hangar.conf
  usr/share/dbus-1/system.d/org.hangar.Hangar1.conf
  usr/share/dbus-1/system-services/org.hangar.Hangar1.service
  usr/share/dbus-1/interfaces/org.hangar.Hangar1.Manager.xml
  usr/share/dbus-1/interfaces/org.hangar.Hangar1.VM.xml
  usr/share/polkit-1/actions/org.hangar.Hangar1.policy
  usr/share/polkit-1/rules.d/50-hangar.rules
)
# hangar-gtk, when it was built (HANGAR_BUILD_GTK and its libraries present): the app, its menu entry and icon.
if [[ -e "$build_dir/client/gtk/hangar-gtk" ]]; then
  expected+=(
    usr/bin/hangar-gtk
    usr/share/applications/org.hangar.HangarGtk.desktop
    usr/share/icons/hicolor/scalable/apps/hangar-gtk.svg
  )
fi
# The Cockpit page, when it was built (HANGAR_BUILD_COCKPIT).
if [[ -f "$build_dir/client/cockpit/dist/manifest.json" ]]; then
  expected+=(usr/share/cockpit/hangar/manifest.json usr/share/cockpit/hangar/index.html
    usr/share/cockpit/hangar/index.js usr/share/cockpit/hangar/index.css)
fi
status=0
for f in "${expected[@]}"; do
  if [[ ! -e "$dest/$f" ]]; then
    echo "missing after install: /$f" >&2
    status=1
  fi
done
for exe in usr/sbin/hangard usr/bin/hangarctl; do
  [[ -x "$dest/$exe" ]] || { echo "not executable: /$exe" >&2; status=1; }
done
grep -q '^Type=notify' "$dest/usr/lib/systemd/system/hangard.service" || { echo "hangard.service is not Type=notify" >&2; status=1; }
grep -q '^BusName=org.hangar.Hangar1' "$dest/usr/lib/systemd/system/hangard.service" || { echo "hangard.service has no BusName" >&2; status=1; }
grep -q '^SystemdService=' "$dest/usr/share/dbus-1/system-services/org.hangar.Hangar1.service" || { echo "activation file has no SystemdService" >&2; status=1; }
"$dest/usr/sbin/hangard" --help | grep -q -- '--hypervisor' || { echo "installed hangard --help does not document --hypervisor" >&2; status=1; }
[[ $status -eq 0 ]] && echo "install layout ok (${#expected[@]} files)"
exit $status
