#!/usr/bin/env bash
# Runs the browser tests of the Cockpit page (run.mjs) inside run-hermetic.sh's namespaces (private /etc, Hangar's
# polkit files only; see tests/integration/polkit/README.md):
#
#   run-web-tests.sh [--e2e] BUILD-DIR [PACKAGE-DIR]
#
# --e2e runs run-e2e.mjs instead: a private libvirtd with QEMU and the tiny guest of tests/e2e (consoles, graphs,
# a real upload), inside tests/e2e/run-hermetic.sh's namespaces as well (private libvirt directories, own network
# namespace with only loopback). HANGAR_E2E_CACHE_DIR keeps libvirt's QEMU capability cache between runs.
# BUILD-DIR holds daemon/hangard and client/hangarctl; PACKAGE-DIR the built Cockpit package (default
# BUILD-DIR/client/cockpit/dist). Installs playwright-core with `npm ci` (no browser download: the tests drive
# Debian's /usr/bin/chromium). Screenshots: BUILD-DIR/web-screenshots (or HANGAR_WEB_SCREENSHOTS).
# Exit 77 (skipped) when not root or when cockpit, chromium or node are missing, unless CI=true (then it fails).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
suite=run.mjs
wrap=()
if [[ ${1:-} == --e2e ]]; then
    shift
    suite=run-e2e.mjs
    wrap=("$source_dir/tests/e2e/run-hermetic.sh")
fi
build_dir=$(cd "${1:?usage: $0 [--e2e] BUILD-DIR [PACKAGE-DIR]}" && pwd)
package_dir=${2:-$build_dir/client/cockpit/dist}

skip() {
    echo "run-web-tests.sh: skipped: $*" >&2
    [[ ${CI:-} == true ]] && exit 1
    exit 77
}

[[ $(id -u) -eq 0 ]] || skip "needs root (test users, mounts, cockpit-ws)"
for tool in node npm /usr/bin/chromium /usr/lib/cockpit/cockpit-ws /usr/bin/cockpit-bridge; do
    command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
done
[[ -f $package_dir/manifest.json ]] || skip "the Cockpit package is not built in $package_dir"

# playwright-core only, never a browser download.
if [[ ! -d $here/node_modules/playwright-core || $here/package-lock.json -nt $here/node_modules ]]; then
    (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

export HANGAR_BUILD_DIR=$build_dir HANGAR_COCKPIT_DIST=$package_dir
export HANGAR_WEB_SCREENSHOTS=${HANGAR_WEB_SCREENSHOTS:-$build_dir/web-screenshots}
exec "${wrap[@]}" "$source_dir/tests/integration/polkit/run-hermetic.sh" node --test --test-reporter=spec "$here/$suite"
