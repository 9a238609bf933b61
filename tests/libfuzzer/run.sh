#!/usr/bin/env bash
# Runs every libFuzzer target of tests/libfuzzer/ for a bounded time each, from the seed corpus in the tree
# (tests/libfuzzer/corpus/<target>/, read only) plus what earlier runs in this build directory found
# (BUILD/libfuzzer-corpus/<target>/). A crash, a sanitizer report, a leak, a timeout (10 s per input) or a FINDING of
# a harness fails the run; the input that caused it is left in BUILD/libfuzzer-artifacts/ (replay: the binary with
# that file as its only argument). Prints each target's executions per second and coverage.
#   tests/libfuzzer/run.sh BUILD_DIR [SECONDS_PER_TARGET (default 20)]
set -euo pipefail

build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-20}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The sanitizers' options of the rest of the stage (halt on the first report, the LSan suppressions).
# shellcheck source=../sanitizers/env.sh
. "$here/../sanitizers/env.sh"

artifacts="$build/libfuzzer-artifacts"
mkdir -p "$artifacts"
status=0
for target in VmSpec Provisioning Config DomainMetadata ImageProbe; do
    binary="$build/tests/libfuzzer/hangar_fuzz_$target"
    corpus="$build/libfuzzer-corpus/$target"
    mkdir -p "$corpus"
    # ImageProbe's seeds are whole (small) images: an ISO's descriptor sits at 32 KiB, a qcow2's tables after it.
    max_len=4096
    [[ $target == ImageProbe ]] && max_len=262144
    log="$build/libfuzzer-$target.log"
    if "$binary" -max_total_time="$seconds" -timeout=10 -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$artifacts/$target-" "$corpus" "$here/corpus/$target" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "libfuzzer $target: $result, ${runs:-?} inputs in ${seconds} s (${rate:-?}/s), ${cov:-cov: ?}"
    if [[ $result == FAILED ]]; then
        grep -E 'FINDING|ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -n 40 "$log" >&2
    fi
done
exit "$status"
