#!/usr/bin/env bash
# Builds Hangar and runs its tests, as CI does (.ci/run). Needs root only if packages are missing
# (scripts/install-deps.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

cmake -S . -B build -DHANGAR_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"

# Unit and integration tests (GoogleTest, the real dbus-daemon and polkitd, libvirt's test driver).
ctest --test-dir build --output-on-failure --timeout 300

# E2E stage (real libvirtd + QEMU, tests/e2e/): not written yet. It goes here, after ctest.
