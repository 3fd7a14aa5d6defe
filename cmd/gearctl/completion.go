package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The shells' completion scripts ask gearctl itself what may come next
// (urfave's --generate-bash-completion), so they follow its verbs and
// flags without being regenerated.
const bashCompletion = `# gearctl completion for bash: eval "$(gearctl completion bash)"
_gearctl_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _gearctl_complete gearctl
`

const zshCompletion = `#compdef gearctl
# gearctl completion for zsh: eval "$(gearctl completion zsh)", or save it
# as _gearctl in a directory of $fpath.
_gearctl() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _gearctl gearctl
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "Examples:\n" +
			"   eval \"$(gearctl completion bash)\"             # in ~/.bashrc\n" +
			"   gearctl completion zsh > ~/.zfunc/_gearctl    # with ~/.zfunc in $fpath\n" +
			"   gearctl completion fish > ~/.config/fish/completions/gearctl.fish",
		Action: func(c *cli.Context) error {
			var script string
			switch shell := c.Args().First(); shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return exitWith(1, "fish completion: %v", err)
				}
				script = s
			default:
				return usageErrorf("completion %q: not a shell gearctl completes; accepted: bash, zsh or fish", shell)
			}
			fmt.Fprint(c.App.Writer, script)
			return nil
		},
	}
}
