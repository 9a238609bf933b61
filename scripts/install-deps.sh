#!/usr/bin/env bash
# Installs what Hangar needs to build, run and test, on Debian 12 (bookworm).
#
# Idempotent and quiet: when every package is already installed it changes nothing, needs no network and does not
# need root. Otherwise it must run as root. It runs apt-get update only when the package lists are missing or when
# an install fails (e.g. on stale lists). apt's output goes to a log that is printed only on failure.
set -euo pipefail

readonly PACKAGES=(
    # build
    cmake g++ make pkg-config git ca-certificates
    # compiler cache: the sanitizer build of scripts/test.sh is a second build tree (g++ brings libasan and libubsan)
    ccache
    # the libFuzzer targets of the same stage (tests/libfuzzer/): clang with its fuzzer and sanitizer runtimes
    clang libclang-rt-14-dev
    # libraries (headers) and code generators
    libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libvirt-dev libxml2-dev libsqlite3-dev
    libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libinih-dev
    # cloud-init seed ISOs (daemon/provision/); the tests read them back with xorriso (below)
    libisofs-dev
    # images' OS identity: libosinfo and its database of operating systems (media detection, resources); the
    # integration tests also build a tiny installer ISO with xorriso (listed with the end-to-end tests below)
    libosinfo-1.0-dev osinfo-db
    # tests; valgrind checks what the sanitizer stage's one glib suppression could hide (tests/sanitizers/)
    libgtest-dev libgmock-dev python3 valgrind
    # docs/hangarctl.md's examples pipe hangarctl --json into jq (tests/docs-examples.sh runs them)
    jq
    # run: libvirt, polkit, D-Bus and their command-line tools (busctl comes with systemd on Debian 12)
    libvirt-daemon libvirt-clients qemu-utils polkitd pkexec dbus-daemon dbus-bin libglib2.0-bin systemd
    libxml2-utils sqlite3
    # a FUSE file whose reads hang: the stalled import source of tests/integration/StalledSourceTest.cpp and
    # tests/e2e/StalledSourceE2eTest.cpp (stall-fs.py); fusermount unmounts it
    python3-fusepy fuse3
    # PyYAML: the provisioning unit tests read the user-data hangard renders back with a real YAML parser
    python3-yaml
    # end-to-end tests (tests/e2e/): libvirtd's QEMU driver, QEMU itself, and what the tiny guest is built from
    # (the distribution kernel in /boot, a static busybox packed into an initramfs with cpio); ip for the loopback
    # of the suite's network namespace
    libvirt-daemon-driver-qemu qemu-system-x86 linux-image-amd64 busybox-static qemu-guest-agent passwd cpio iproute2 xorriso
    # hangar-gtk (client/gtk/): gtkmm, gtk-vnc for the display, VTE for the serial console; its tests (tests/gtk/)
    # run it under Xvfb with the accessibility bus and drive it with dogtail; screenshots with ImageMagick's import
    libgtkmm-3.0-dev libgtk-vnc-2.0-dev libvte-2.91-dev
    xvfb xauth at-spi2-core python3-dogtail python3-pyatspi imagemagick
    # the Cockpit page (client/cockpit/: node builds it) and its browser tests (tests/web/: cockpit-ws and the
    # bridge serve it, Debian's chromium shows it)
    nodejs cockpit-ws cockpit-bridge cockpit-system chromium
    # install layout (cmake/HangarInstall.cmake asks pkg-config where dbus-daemon and polkitd read their files; the
    # bash-completion .pc is there too), man pages (docs/man/, scdoc; man checks them), the Debian packages
    # (debian/; scripts/check-deb.sh builds them with dpkg-buildpackage and checks them with lintian)
    libdbus-1-dev libpolkit-gobject-1-dev bash-completion scdoc man-db dpkg-dev debhelper lintian
)
# Commands the build and the tests call directly. Checked after installing, whichever package provides them.
readonly COMMANDS=(cmake g++ clang++ make pkg-config git ccache sdbus-c++-xml2cpp busctl gdbus dbus-daemon pkcheck virsh
    xmllint sqlite3 python3 qemu-system-x86_64 cpio gzip unshare ip systemd-analyze Xvfb dbus-run-session import node
    npm chromium fusermount xorriso scdoc man dpkg-buildpackage dh lintian setpriv jq valgrind)
# Files the end-to-end, GTK and web suites use by path (sbin and libexec are not on PATH; the kernel is found by its
# glob).
readonly FILES=(/usr/sbin/libvirtd /bin/busybox /usr/libexec/at-spi-bus-launcher /usr/bin/python3
    /usr/lib/cockpit/cockpit-ws /usr/bin/cockpit-bridge)

step() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

if [[ -r /etc/os-release ]]; then
    # shellcheck source=/dev/null
    os_id=$(. /etc/os-release && printf '%s %s' "${ID:-}" "${VERSION_ID:-}")
    [[ "$os_id" == "debian 12" ]] || step "warning: made for Debian 12, this is ${os_id:-unknown}"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [[ "$status" == ii* ]] || missing+=("$pkg")
done
# npm: its own package in Debian 12; some nodejs builds (e.g. NodeSource's) bring it and conflict with Debian's.
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]} == 0)); then
    step "all ${#PACKAGES[@]} packages already installed"
else
    ((EUID == 0)) || die "must run as root to install: ${missing[*]}"

    log=$(mktemp /tmp/hangar-install-deps.XXXXXX.log)
    fail() {
        printf 'install-deps: error: %s; last lines of %s:\n' "$1" "$log" >&2
        tail -n 40 "$log" >&2
        exit 1
    }
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" >>"$log" 2>&1
    }
    apt_update() {
        apt-get update >>"$log" 2>&1 || fail "apt-get update failed"
    }

    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        step "package lists missing: apt-get update"
        apt_update
    fi
    step "installing ${#missing[@]} package(s): ${missing[*]}"
    if ! apt_install; then
        step "install failed, refreshing package lists and retrying"
        apt_update
        apt_install || fail "apt-get install failed"
    fi
    rm -f "$log"
fi

absent=()
for cmd in "${COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null || absent+=("$cmd")
done
for file in "${FILES[@]}"; do
    [[ -x "$file" ]] || absent+=("$file")
done
compgen -G '/boot/vmlinuz-*' >/dev/null || absent+=("/boot/vmlinuz-* (linux-image-amd64)")
((${#absent[@]} == 0)) || die "still missing after install: ${absent[*]}"
step "all ${#COMMANDS[@]} tools present (busctl: $(command -v busctl))"
