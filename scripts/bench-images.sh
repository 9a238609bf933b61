#!/usr/bin/env bash
# Benchmarks making a VM from a base image: hangard's CreateVM with spec key "image" (the VM's disk is a qcow2 overlay
# of the image) side by side with a full copy of the same image (libvirt's own volume clone), for a 1 GiB image that
# is all data and a 50 GiB sparse one, on a real libvirtd. Prints one table (docs/performance.md, "Images").
#
# Builds hangard and hangar-bench-images (Release) in build-bench-img/, then runs the driver inside
# tests/e2e/run-hermetic.sh's namespaces (private mount, PID and network namespaces, a private copy of /etc and empty
# libvirt directories), where it starts its own libvirtd (QEMU driver, as the end-to-end suite does), a private
# dbus-daemon and hangard (allow-all authorizer, its own state directory and storage pool), and drives hangard over
# D-Bus and libvirt over its C API. Everything it starts is tracked by PID and killed by PID when it ends, also on
# failure or Ctrl-C; when the namespace ends, the kernel kills anything left in it. The pool and the image files live
# in a directory on the disk (/var/tmp, not a tmpfs: copies are written where a host keeps its images), removed at
# the end whatever happens. Needs root and 5 GiB free in /var/tmp; the run takes about 2 minutes on 2 cores (plus the
# build, and up to a minute of waiting for the load to settle).
#
#   scripts/bench-images.sh [hangar-bench-images options...]   e.g. --creates=10 --copies=2
#
# The table is also written to build-bench-img/bench-images-results.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$repo/build-bench-img
bench_bin=$build/bench/images/hangar-bench-images

started=$(date +%s)
cd "$repo"
if ((EUID != 0)); then
    echo "bench-images: needs root (it starts a libvirtd with the QEMU driver as qemu:///system)" >&2
    exit 1
fi

echo "bench-images: building hangard and hangar-bench-images (Release) in build-bench-img/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHANGAR_BUILD_BENCH=ON -DHANGAR_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target hangar-bench-images >/dev/null

# The build has kept both CPUs busy and the load average lags behind: give the machine up to a minute to settle.
busy() { awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l > 1.5) }'; }
waited=0
while busy && ((waited < 60)); do
    sleep 5
    waited=$((waited + 5))
done
((waited == 0)) || echo "bench-images: waited ${waited}s for the load to settle"

work=$(mktemp -d /var/tmp/hangar-bench-images.XXXXXX)
chmod 0755 "$work"
runner=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [[ -n $runner ]]; then
        # run-hermetic.sh kills its namespace (and with it everything the run started) on SIGTERM.
        kill -TERM "$runner" 2>/dev/null || true
        wait "$runner" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "bench-images: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(free -g |
    awk '/^Mem:/ { print $2 " GiB RAM" }'), kernel $(uname -r)"
echo "bench-images: libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon), qemu-utils $(dpkg-query -W \
    -f='${Version}' qemu-utils), pool on $(findmnt -n -o FSTYPE -T "$work") ($(findmnt -n -o SOURCE -T "$work"))"
echo "bench-images: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

results=$build/bench-images-results.md
# libvirt's probe of QEMU is cached across runs, as for the end-to-end suite.
mkdir -p "$build/libvirt-cache"
HANGAR_E2E_CACHE_DIR=$build/libvirt-cache "$repo/tests/e2e/run-hermetic.sh" "$bench_bin" --work-dir="$work" "$@" \
    >"$results.tmp" &
runner=$!
status=0
wait "$runner" || status=$?
runner=
mv "$results.tmp" "$results"
echo
cat "$results"
echo
echo "bench-images: load average at end: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - started))s;" \
    "table in $results"
exit "$status"
