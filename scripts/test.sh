#!/usr/bin/env bash
# Builds Hangar and runs its tests, as CI does (.ci/run). Needs root only if packages are missing
# (scripts/install-deps.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

# ccache (scripts/install-deps.sh) makes any rebuild cheap.
launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -DHANGAR_WERROR=ON -DHANGAR_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}"
cmake --build build -j"$(nproc)"

# Unit and integration tests (GoogleTest, the real dbus-daemon and polkitd, libvirt's test driver).
ctest --test-dir build --output-on-failure --timeout 300

# libFuzzer targets of the parsers (tests/libfuzzer/README.md): clang with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/ (only the parsers' sources), 20 s per target from the seed corpora in the
# tree; a crash, a sanitizer report, a leak or a harness's FINDING fails the run. ~3 min on 2 loaded cores with a warm
# ccache (build ~70 s, runs 5 x 20 s). The ASan+UBSan build of the unit and integration suites is not a stage yet:
# see tests/sanitizers/README.md for what it still reports.
fuzz_start=$SECONDS
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DHANGAR_LIBFUZZER=ON -DHANGAR_BUILD_TESTS=OFF \
    -DHANGAR_BUILD_BENCH=OFF -DHANGAR_BUILD_GTK=OFF -DHANGAR_BUILD_COCKPIT=OFF -DHANGAR_WERROR=ON \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" "${launcher[@]}"
cmake --build build-fuzz -j"$(nproc)" --target hangar_libfuzzers
tests/libfuzzer/run.sh build-fuzz 20
echo "libfuzzer: $((SECONDS - fuzz_start)) s"

# The unit and integration suites and the bus fuzzer again, built with AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer (tests/sanitizers/README.md): g++ in build-san/ (-O1 -g1: line tables are enough for the
# reports' stacks and compile much faster than full debug information), only what the suites run; the first report
# fails its test. Suites that run hangard as other users inside namespaces (polkit_authorization, fuzz_polkit), the
# install layout and the valgrind check run in the ordinary build above. ~15-20 min with a cold ccache on 2 cores
# (build), ~6 min of tests.
san_start=$SECONDS
cmake -S . -B build-san -DHANGAR_SANITIZE=ON -DHANGAR_WERROR=ON -DHANGAR_BUILD_BENCH=OFF -DHANGAR_BUILD_GTK=OFF \
    -DHANGAR_BUILD_COCKPIT=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" "${launcher[@]}"
cmake --build build-san -j"$(nproc)" --target hangard hangarctl hangar_unit_tests hangar_integration_tests \
    hangar_fuzz_tests
(
    . tests/sanitizers/env.sh
    ctest --test-dir build-san -L 'unit|integration|fuzz' \
        -E 'install_layout|polkit_authorization|fuzz_polkit|valgrind_hangard|_NOT_BUILT$' --output-on-failure \
        --timeout 300 -j"$(nproc)"
)
echo "sanitizers: $((SECONDS - san_start)) s"

# Style (STYLE.md): clang-format on every C++ file, and clang-tidy with the repository's .clang-tidy (every finding
# an error) on the daemon's and the clients' sources, read through build/compile_commands.json; any finding fails the
# run. ~5-10 min on 2 loaded cores.
scripts/check-style.sh build

# The unit file: `systemd-analyze verify` passes and `security --offline` rates it at most 2.0.
systemd/check-unit.sh build

# The Debian packages (scripts/check-deb.sh, docs/install.md): dpkg-buildpackage in build/deb, lintian, apt-get
# install, the installed hangard as user hangar on a private system bus with the installed policy and polkitd, then
# apt-get purge (always, even on failure). Needs root: it installs into this machine's /usr for about a minute.
if [[ $(id -u) -ne 0 ]]; then
    if [[ ${CI:-} == true ]]; then
        echo "deb: needs root (apt-get install of the packages); failing because CI=true" >&2
        exit 1
    fi
    echo "deb: skipped: needs root (apt-get install of the packages); run scripts/test.sh as root for this stage"
else
    deb_start=$SECONDS
    scripts/check-deb.sh build
    echo "deb: $((SECONDS - deb_start)) s"
fi

# End-to-end stage (tests/e2e/README.md): hangard against a libvirtd the suite starts itself, QEMU (TCG without KVM)
# booting a tiny guest built from Debian's kernel and busybox. Needs root; everything runs in throw-away
# namespaces (run-hermetic.sh) and is stopped by PID, even on failure. libvirt's QEMU capability cache is kept in
# build/ so only the first run probes QEMU. ~2-3.5 min (84 tests, 9-10 guests booted; libvirtd killed and restarted once;
# hangard killed at each of 28 fault points, ~20 s; longer on a loaded machine); the binary ends itself after 360 s,
# timeout is the backstop.
if [[ $(id -u) -ne 0 ]]; then
    if [[ ${CI:-} == true ]]; then
        echo "e2e: needs root (libvirtd with the QEMU driver); failing because CI=true" >&2
        exit 1
    fi
    echo "e2e: skipped: needs root (libvirtd with the QEMU driver); run scripts/test.sh as root for this stage"
else
    HANGAR_E2E_CACHE_DIR="$PWD/build/e2e-libvirt-cache" HANGAR_E2E_TIMEOUT_SEC=360 \
        timeout --kill-after=10 390 build/tests/hangar_e2e_tests
    # The Cockpit page on the same kind of libvirtd and tiny guest (tests/web/run-e2e.mjs): serial console and
    # screen in the browser, stats graphs, a 300 MiB upload. ~100 s. (The page's other browser tests, on the test
    # driver, ran in ctest above: label web.)
    if [[ -f build/client/cockpit/dist/manifest.json ]]; then
        status=0
        HANGAR_E2E_CACHE_DIR="$PWD/build/e2e-libvirt-cache" timeout --kill-after=10 300 \
            tests/web/run-web-tests.sh --e2e build || status=$?
        ((status == 0 || status == 77)) || exit "$status"
    fi
fi
