# Sourced by scripts/test.sh for the sanitizer stage: the options every sanitized process gets (the test binaries,
# and hangard and hangarctl, which the harnesses start with this environment). The first report ends the process
# with a non-zero status and a stack trace in its log; the integration harness fails the test on either
# (tests/integration/Harness.h, ~Hangard).
sanitizers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1:print_summary=1
export LSAN_OPTIONS=suppressions=$sanitizers_dir/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1
unset sanitizers_dir
