#!/usr/bin/env bash
# The style checks CI runs (STYLE.md, convention 6): clang-format on every C++ file in the tree, and clang-tidy with
# the repository's .clang-tidy (every finding is an error there) on the daemon's and the clients' sources.
#
#   scripts/check-style.sh BUILD_DIR          # needs BUILD_DIR/compile_commands.json (cmake exports it)
#   scripts/check-style.sh --format-only      # just clang-format, no build needed
#
# Exit 0: clean. Exit 1: what is wrong is printed (clang-format's diff lines, clang-tidy's findings).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=""
format_only=false
case "${1:-}" in
--format-only) format_only=true ;;
"") echo "usage: $0 BUILD_DIR | --format-only" >&2; exit 2 ;;
*) build_dir=$1 ;;
esac

status=0

mapfile -t cxx_files < <(git ls-files '*.cpp' '*.h')
echo "check-style: clang-format on ${#cxx_files[@]} files"
if ! clang-format --dry-run -Werror "${cxx_files[@]}"; then
    echo "check-style: clang-format: the files above differ from .clang-format; run clang-format -i on them" >&2
    status=1
fi

if ! $format_only; then
    [[ -f "$build_dir/compile_commands.json" ]] || { echo "check-style: no $build_dir/compile_commands.json" >&2; exit 2; }
    # The generated D-Bus glue must exist before clang-tidy reads the sources that include it.
    cmake --build "$build_dir" --target hangar_dbus_codegen >/dev/null
    mapfile -t tidy_files < <(git ls-files 'daemon/*.cpp' 'client/*.cpp')
    echo "check-style: clang-tidy on ${#tidy_files[@]} files"
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if ! printf '%s\n' "${tidy_files[@]}" |
        xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet >"$log" 2>/dev/null; then
        status=1
    fi
    if grep -E ': (warning|error): ' "$log"; then
        echo "check-style: clang-tidy reported the findings above" >&2
        status=1
    elif ((status != 0)); then
        cat "$log" >&2
    fi
fi

((status == 0)) && echo "check-style: clean"
exit "$status"
