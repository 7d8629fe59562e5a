package main

import (
	"flag"
	"fmt"
	"io"
)

const completionUsage = `Usage:
    flux-mirror completion bash|zsh|fish

Print a script that makes the shell complete flux-mirror's commands, flags,
-o values and --host values (read from the config the line names), by
running "flux-mirror __complete". As the Flux CLI plugin, "flux mirror"
completes through flux's own completion instead.

Example:
    $ source <(flux-mirror completion bash)
    $ flux-mirror completion zsh > "${fpath[1]}/_flux-mirror"
    $ flux-mirror completion fish > ~/.config/fish/completions/flux-mirror.fish`

func runCompletion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("completion", flag.ContinueOnError)
	if err := parseFlags(fs, args, completionUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("completion: want one shell: bash, zsh or fish")
	}
	script, ok := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}[fs.Arg(0)]
	if !ok {
		return usagef("completion: unknown shell %q: want bash, zsh or fish", fs.Arg(0))
	}
	fmt.Fprint(stdout, script)
	return nil
}

// The scripts only pass the words typed so far to "flux-mirror __complete"
// and turn its candidates and directive into the shell's terms, so all the
// rules live in one place, in Go. Directive bits: 4 no file completion,
// 16 folders only.

const bashCompletion = `# bash completion for flux-mirror: source <(flux-mirror completion bash)
_flux_mirror() {
    local cur=${COMP_WORDS[COMP_CWORD]} out directive line
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
    directive=${out##*:}
    COMPREPLY=()
    while IFS= read -r line; do
        case $line in :*) continue ;; esac
        [ -n "$line" ] && COMPREPLY+=("${line%%$'\t'*}")
    done <<<"$out"
    if [ ${#COMPREPLY[@]} -eq 0 ]; then
        if (( directive & 16 )); then
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        elif (( (directive & 4) == 0 )); then
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
    fi
}
complete -o filenames -F _flux_mirror flux-mirror
`

const zshCompletion = `#compdef flux-mirror
# zsh completion for flux-mirror: flux-mirror completion zsh > "${fpath[1]}/_flux-mirror"
_flux_mirror() {
    local out directive line word
    local -a cands
    out=$("${words[1]}" __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null) || return
    directive=${out##*:}
    for line in "${(@f)out}"; do
        [[ $line == :* || -z $line ]] && continue
        # _describe splits word:description at the first unescaped colon,
        # and a host may hold one (localhost:5000).
        word=${line%%$'\t'*}
        word=${word//:/\\:}
        if [[ $line == *$'\t'* ]]; then
            cands+=("$word:${line#*$'\t'}")
        else
            cands+=("$word")
        fi
    done
    if (( ${#cands} )); then
        _describe 'flux-mirror' cands
    elif (( directive & 16 )); then
        _files -/
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
compdef _flux_mirror flux-mirror
# Autoloaded from $fpath, this file is the completion function: run it.
if [[ $funcstack[1] == _flux_mirror || $funcstack[1] == _flux-mirror ]]; then
    _flux_mirror "$@"
fi
`

const fishCompletion = `# fish completion for flux-mirror: flux-mirror completion fish > ~/.config/fish/completions/flux-mirror.fish
function __flux_mirror_complete
    set -l words (commandline -opc)
    set -l out (command $words[1] __complete $words[2..-1] (commandline -ct) 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    if test (count $out) -gt 0
        printf '%s\n' $out
    else if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories (commandline -ct)
    else if test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c flux-mirror -f -a '(__flux_mirror_complete)'
`
