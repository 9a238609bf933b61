# bash completion for hangarctl (issue 15, item 4). Installed to share/bash-completion/completions/hangarctl.
#
# Subcommands and options are read from hangarctl's own --help (CLI11's "Subcommands:" and option lines), so a new
# subcommand or option completes without a change here. VM, image and snapshot names come from the running daemon
# through the ordinary read-only commands (hangarctl list / image list / snapshot list VM): no hidden helper. The
# --bus given on the command line (or HANGAR_BUS) is passed on; a daemon that cannot be reached completes nothing.

# _hangarctl_help WORDS...: the help text of `hangarctl WORDS --help`.
_hangarctl_help() {
    command hangarctl "$@" --help 2>/dev/null
}

# _hangarctl_subcommands WORDS...: the subcommands listed under "Subcommands:".
_hangarctl_subcommands() {
    _hangarctl_help "$@" | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on { on = 0 }'
}

# _hangarctl_options WORDS...: every -x and --long option of that command.
_hangarctl_options() {
    _hangarctl_help "$@" | awk '/^Options:/ { on = 1; next } /^[A-Z]/ { on = 0 }
        on && /^  -/ { n = split($1, o, ","); for (i = 1; i <= n; i++) { sub(/=.*/, "", o[i]); print o[i] } }'
}

# _hangarctl_names BUS_ARGS... -- WORDS...: the first column of a table that hangarctl prints (header skipped).
_hangarctl_names() {
    local -a bus=()
    while [[ $1 != -- ]]; do bus+=("$1"); shift; done
    shift
    command hangarctl "${bus[@]}" --no-ask-password "$@" 2>/dev/null | awk 'NR > 1 && NF { print $1 }'
}

# _hangarctl_vms BUS_ARGS...: everyone's VMs for an administrator, else the caller's own.
_hangarctl_vms() {
    local names
    names=$(_hangarctl_names "$@" -- list --all)
    [[ -n $names ]] || names=$(_hangarctl_names "$@" -- list)
    printf '%s\n' "$names"
}

_hangarctl() {
    local cur prev words cword
    _init_completion || return

    # The command path (e.g. "image import") and the global --bus, from the words before the cursor.
    local -a path=() bus=() args=()
    local i word helping=0
    for ((i = 1; i < cword; i++)); do
        word=${words[i]}
        case $word in
        --bus=*) bus=("$word") ;;
        --bus) bus=(--bus "${words[i + 1]}"); ((i++)) ;;
        -*) ;;
        *)
            # `hangarctl help image import` completes like `hangarctl image import`, without positionals.
            if [[ $word == help && ${#path[@]} == 0 && ${#args[@]} == 0 ]]; then
                helping=1
            elif [[ " $(_hangarctl_subcommands "${path[@]}" | tr '\n' ' ') " == *" $word "* ]]; then
                path+=("$word")
            else
                args+=("$word")
            fi
            ;;
        esac
    done

    case $prev in
    --bus)
        COMPREPLY=($(compgen -W "system session unix:path=" -- "$cur"))
        return
        ;;
    --state)
        COMPREPLY=($(compgen -W "creating stopped running paused shutting-down crashed suspended deleting unavailable" -- "$cur"))
        return
        ;;
    --format)
        COMPREPLY=($(compgen -W "qcow2 raw iso" -- "$cur"))
        return
        ;;
    --image)
        COMPREPLY=($(compgen -W "$(_hangarctl_names "${bus[@]}" -- image list)" -- "$cur"))
        return
        ;;
    --vm)
        COMPREPLY=($(compgen -W "$(_hangarctl_vms "${bus[@]}")" -- "$cur"))
        return
        ;;
    -o | --columns)
        # A comma-separated list: complete the column after the last comma.
        local done=${cur%"${cur##*,}"}
        COMPREPLY=($(compgen -P "$done" -W "$(command hangarctl list --help 2>/dev/null |
            sed -n 's/.*separated by commas: \([a-z, ]*\) (default.*/\1/p' | tr -d ',')" -- "${cur##*,}"))
        compopt -o nospace 2>/dev/null
        return
        ;;
    --cpus | --memory | --disk | --description | --kernel | --initrd | --cmdline | --name | --since | --limit | \
        --uid | --timeout | --wait-timeout | --listen | -d | --delay | -n | --iterations | --vms | --running | --lines)
        return
        ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_hangarctl_options "${path[@]}")" -- "$cur"))
        return
    fi

    local subs
    subs=$(_hangarctl_subcommands "${path[@]}")
    ((${#path[@]} == 0 && !helping)) && subs+=$'\nhelp'
    if [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi

    ((helping)) && return
    # Positional arguments: names from the daemon.
    case "${path[*]}" in
    "image import") _filedir ;;
    "image show" | "image delete") COMPREPLY=($(compgen -W "$(_hangarctl_names "${bus[@]}" -- image list)" -- "$cur")) ;;
    "snapshot create") ((${#args[@]} == 0)) && COMPREPLY=($(compgen -W "$(_hangarctl_vms "${bus[@]}")" -- "$cur")) ;;
    "snapshot list" | "snapshot revert" | "snapshot delete")
        if ((${#args[@]} == 0)); then
            COMPREPLY=($(compgen -W "$(_hangarctl_vms "${bus[@]}")" -- "$cur"))
        elif [[ ${path[1]} != list && ${#args[@]} == 1 ]]; then
            COMPREPLY=($(compgen -W "$(_hangarctl_names "${bus[@]}" -- snapshot list "${args[0]}")" -- "$cur"))
        fi
        ;;
    "quota" | "quota show" | "quota set") COMPREPLY=($(compgen -u -- "$cur")) ;;
    alerts | create | events | list | top) ;;
    publish | clone | rename) ((${#args[@]} == 0)) && COMPREPLY=($(compgen -W "$(_hangarctl_vms "${bus[@]}")" -- "$cur")) ;;
    *) [[ -n ${path[*]} ]] && COMPREPLY=($(compgen -W "$(_hangarctl_vms "${bus[@]}")" -- "$cur")) ;;
    esac
} && complete -F _hangarctl hangarctl
