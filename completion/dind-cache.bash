# bash completion for dind-cache(8)                                -*- shell-script -*-
#
# Commands and flags come from the binary's own --help, so they never go stale;
# values where they are known: block devices for --device, the kubeconfig's contexts
# for --context, paths for --data-dir, --state-dir and --kubeconfig.

# The contexts of the kubeconfig the command line would use: --kubeconfig, else the
# first file of $KUBECONFIG, ~/.kube/config, /etc/kubernetes/admin.conf.
_dind_cache_contexts()
{
    local file="" i
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        case ${COMP_WORDS[i]} in
            --kubeconfig) file=${COMP_WORDS[i + 1]} ;;
            --kubeconfig=*) file=${COMP_WORDS[i]#--kubeconfig=} ;;
        esac
    done
    if [[ -z $file ]]; then
        if [[ -n ${KUBECONFIG-} ]]; then
            file=${KUBECONFIG%%:*}
        elif [[ -r ~/.kube/config ]]; then
            file=~/.kube/config
        else
            file=/etc/kubernetes/admin.conf
        fi
    fi
    file=${file/#\~/$HOME}
    [[ -r $file ]] || return 0
    # The "name:" of each item of the top-level "contexts:" list.
    awk '
        /^contexts:/ { inside = 1; next }
        /^[^ \t#-]/ { inside = 0 }
        inside && /^(- |  )name:/ {
            sub(/^(- |  )name:[ \t]*/, ""); gsub(/["\047]/, ""); sub(/[ \t]+$/, "")
            print
        }' "$file" 2>/dev/null
}

_dind_cache()
{
    local cur prev cmd="" i word
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prog=${COMP_WORDS[0]}

    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word != -* ]]; then
            cmd=$word
            break
        fi
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
        else
            local commands
            commands=$("$prog" --help 2>/dev/null |
                awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return 0
    fi

    case $prev in
        --device)
            COMPREPLY=($(compgen -W "$(lsblk -nrpo NAME 2>/dev/null)" -- "$cur"))
            return 0
            ;;
        --context)
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$(_dind_cache_contexts)" -- "$cur"))
            return 0
            ;;
        --data-dir | --state-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return 0
            ;;
        --kubeconfig)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --capacity | --node | --namespace | --instance | --image | --registry-mirror | --mtu | \
            --allow-namespace | --prune-schedule | --prune-after | --timeout | \
            --check-interval | --memory | --cpus)
            # A value only the operator knows.
            return 0
            ;;
    esac

    if [[ $cur == -* ]]; then
        local flags
        flags=$("$prog" "$cmd" --help 2>/dev/null | grep -oE -- '(^|[ [,])--[a-z][a-z0-9-]*' |
            grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    fi
    return 0
}

complete -F _dind_cache dind-cache
