package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/internal/exitcode"
)

// Completion scripts and the reference pages are generated from the command
// registry and each command's Flags function, so neither can drift from the code.

// CompletionOptions are `completion`'s.
type CompletionOptions struct {
	App   *App
	Shell string
	// Root is the command tree the script completes.
	Root *cobra.Command
}

// NewCmdCompletion is `phylum-box completion`.
func NewCmdCompletion(f *Factory, runF func(*CompletionOptions) error) *cobra.Command {
	o := &CompletionOptions{App: f.App}
	return &cobra.Command{
		Use:       "completion bash|zsh|fish",
		Short:     "print a shell completion script",
		ValidArgs: []string{"bash", "zsh", "fish"},
		Long: `Prints a completion script for phylum-box's commands and flags. After a package
manager (phylum-box npm …) completion hands over to that manager's own completion.

  bash   ~/.bashrc                    source <(phylum-box completion bash)
  zsh    ~/.zshrc (after compinit)    source <(phylum-box completion zsh)
         or save it as _phylum-box in a directory on $fpath
  fish                                phylum-box completion fish > ~/.config/fish/completions/phylum-box.fish`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("completion: name one shell: bash, zsh, fish")
			}
			o.Shell, o.Root = args[0], cmd.Root()
			if runF != nil {
				return runF(o)
			}
			return writeCompletion(o.App.Stdout, o.Root, o.Shell)
		},
	}
}

// flagInfo is one flag as completion and the reference need it.
type flagInfo struct {
	Name, Short, Usage, Type, Default string
	TakesValue                        bool
	Values                            []string // fixed choices, from a Type such as "auto|always|never"
}

// commandInfo is one command as completion and the reference need it: its own
// flags (global flags apart) and the fixed words it takes (a group's subcommands).
type commandInfo struct {
	Name, Use, Short string
	Aliases          []string
	Raw              bool
	Hidden           bool
	Flags            []flagInfo
	Values           []string
	cmd              *cobra.Command
}

var choiceWord = regexp.MustCompile(`^[A-Za-z0-9._+-]+$`)

// choicesAnnotation lists a flag's fixed values (pflag annotation), for completion
// and the reference. Commands set it with flagChoices.
const choicesAnnotation = "phylum-box/choices"

// flagChoices declares the values a flag accepts, e.g.
// flagChoices(fs, "format", "text", "json", "sarif"), so completion offers them and
// the reference lists them. The command still validates the value itself.
func flagChoices(fs *pflag.FlagSet, name string, values ...string) {
	if err := fs.SetAnnotation(name, choicesAnnotation, values); err != nil {
		panic(err) // a programming error: the flag is defined by the same command
	}
}

func flagInfos(fs *pflag.FlagSet) []flagInfo {
	var out []flagInfo
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		fi := flagInfo{
			Name: f.Name, Short: f.Shorthand, Usage: f.Usage, Type: f.Value.Type(),
			Default: f.DefValue, TakesValue: f.NoOptDefVal == "",
		}
		if vals, ok := f.Annotations[choicesAnnotation]; ok {
			for _, v := range vals {
				if choiceWord.MatchString(v) {
					fi.Values = append(fi.Values, v)
				}
			}
		} else if strings.Contains(fi.Type, "|") {
			for _, v := range strings.Split(fi.Type, "|") {
				if choiceWord.MatchString(v) {
					fi.Values = append(fi.Values, v)
				}
			}
		}
		out = append(out, fi)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// globalFlagInfos are the flags accepted before (and after) any command.
func globalFlagInfos(root *cobra.Command) []flagInfo {
	return flagInfos(globalFlagSet(root))
}

// commandInfos lists root's commands, sorted by name; hidden ones only when
// withHidden is set. A group's flags are its subcommands' together.
func commandInfos(root *cobra.Command, withHidden bool) []commandInfo {
	var out []commandInfo
	for _, c := range root.Commands() {
		if c.Name() == "help" || (c.Hidden && !withHidden) {
			continue
		}
		ci := commandInfo{Name: c.Name(), Use: c.Use, Short: c.Short, Aliases: c.Aliases, Hidden: c.Hidden,
			Raw: c.Annotations[rawAnnotation] != "", Values: c.ValidArgs, cmd: c}
		if !ci.Raw {
			fs := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
			fs.AddFlagSet(c.LocalNonPersistentFlags())
			for _, sub := range c.Commands() {
				if sub.Name() == "help" || sub.Hidden {
					continue
				}
				ci.Values = append(ci.Values, sub.Name())
				fs.AddFlagSet(sub.LocalNonPersistentFlags())
			}
			ci.Flags = flagInfos(fs)
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c commandInfo) names() []string { return append([]string{c.Name}, c.Aliases...) }

func writeCompletion(w io.Writer, root *cobra.Command, shell string) error {
	var b strings.Builder
	switch shell {
	case "bash":
		writeBashCompletion(&b, root)
	case "zsh":
		writeZshCompletion(&b, root)
	case "fish":
		writeFishCompletion(&b, root)
	default:
		return exitcode.With(exitcode.Usage, fmt.Errorf("completion: unsupported shell %q: use bash, zsh or fish", shell))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func flagWords(flags []flagInfo) []string {
	var out []string
	for _, f := range flags {
		out = append(out, "--"+f.Name)
		if f.Short != "" {
			out = append(out, "-"+f.Short)
		}
	}
	return out
}

// bashValueCases writes case arms for flags that take a value: fixed choices are
// offered, anything else falls back to file names (complete -o default).
func bashValueCases(b *strings.Builder, flags []flagInfo, indent string) {
	for _, f := range flags {
		if !f.TakesValue {
			continue
		}
		pat := "--" + f.Name
		if f.Short != "" {
			pat += "|-" + f.Short
		}
		if len(f.Values) > 0 {
			fmt.Fprintf(b, "%s%s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", indent, pat, strings.Join(f.Values, " "))
		} else {
			fmt.Fprintf(b, "%s%s) return ;;\n", indent, pat)
		}
	}
}

func writeBashCompletion(b *strings.Builder, root *cobra.Command) {
	global := globalFlagInfos(root)
	cmds := commandInfos(root, false)
	var names []string
	for _, c := range cmds {
		names = append(names, c.names()...)
	}
	var globalValue []string
	for _, f := range global {
		if f.TakesValue {
			globalValue = append(globalValue, "--"+f.Name)
			if f.Short != "" {
				globalValue = append(globalValue, "-"+f.Short)
			}
		}
	}
	b.WriteString("# bash completion for phylum-box; generated by: phylum-box completion bash\n")
	b.WriteString("_phylum_box() {\n")
	b.WriteString("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	b.WriteString("  local i cmd='' cmdi=0\n")
	b.WriteString("  COMPREPLY=()\n")
	b.WriteString("  # The command is the first word that is neither a flag nor a global flag's value.\n")
	b.WriteString("  for ((i = 1; i < COMP_CWORD; i++)); do\n")
	b.WriteString("    case \"${COMP_WORDS[i]}\" in\n")
	if len(globalValue) > 0 {
		fmt.Fprintf(b, "      %s) ((i++)) ;;\n", strings.Join(globalValue, "|"))
	}
	b.WriteString("      -*) ;;\n")
	b.WriteString("      *) cmd=\"${COMP_WORDS[i]}\"; cmdi=$i; break ;;\n")
	b.WriteString("    esac\n")
	b.WriteString("  done\n")
	b.WriteString("  if [[ -z $cmd ]]; then\n")
	b.WriteString("    case \"$prev\" in\n")
	bashValueCases(b, global, "      ")
	b.WriteString("    esac\n")
	b.WriteString("    if [[ $cur == -* ]]; then\n")
	fmt.Fprintf(b, "      COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", strings.Join(flagWords(global), " "))
	b.WriteString("    else\n")
	fmt.Fprintf(b, "      COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", strings.Join(names, " "))
	b.WriteString("    fi\n")
	b.WriteString("    return\n")
	b.WriteString("  fi\n")
	b.WriteString("  local flags='' words=''\n")
	b.WriteString("  case \"$cmd\" in\n")
	for _, c := range cmds {
		fmt.Fprintf(b, "    %s)\n", strings.Join(c.names(), "|"))
		if c.Raw {
			// Hand over to the package manager's own completion (bash-completion).
			b.WriteString("      if declare -F _command_offset >/dev/null; then _command_offset \"$cmdi\"; fi\n")
			b.WriteString("      return ;;\n")
			continue
		}
		if hasValueFlag(c.Flags) {
			b.WriteString("      case \"$prev\" in\n")
			bashValueCases(b, c.Flags, "        ")
			b.WriteString("      esac\n")
		}
		fmt.Fprintf(b, "      flags='%s'\n", strings.Join(flagWords(c.Flags), " "))
		if v := c.Values; len(v) > 0 {
			fmt.Fprintf(b, "      words='%s'\n", strings.Join(v, " "))
		}
		b.WriteString("      ;;\n")
	}
	b.WriteString("    *) return ;;\n")
	b.WriteString("  esac\n")
	b.WriteString("  case \"$prev\" in\n")
	bashValueCases(b, global, "    ")
	b.WriteString("  esac\n")
	b.WriteString("  if [[ $cur == -* ]]; then\n")
	fmt.Fprintf(b, "    COMPREPLY=($(compgen -W \"$flags %s\" -- \"$cur\"))\n", strings.Join(flagWords(global), " "))
	b.WriteString("  elif [[ -n $words ]]; then\n")
	b.WriteString("    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n")
	b.WriteString("  fi\n")
	b.WriteString("}\n")
	b.WriteString("complete -o bashdefault -o default -F _phylum_box phylum-box\n")
}

func hasValueFlag(flags []flagInfo) bool {
	for _, f := range flags {
		if f.TakesValue {
			return true
		}
	}
	return false
}

// zshDesc makes s safe inside a single-quoted _arguments spec's [description].
func zshDesc(s string) string {
	s = firstLine(s)
	r := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `'`, `'\''`)
	return r.Replace(s)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func zshFlagSpecs(flags []flagInfo) []string {
	var out []string
	for _, f := range flags {
		arg := ""
		if f.TakesValue {
			switch {
			case len(f.Values) > 0:
				arg = ":" + f.Name + ":(" + strings.Join(f.Values, " ") + ")"
			default:
				arg = ":" + f.Name + ":_files"
			}
		}
		long := "--" + f.Name
		if f.TakesValue {
			long += "="
		}
		desc := "[" + zshDesc(f.Usage) + "]"
		if f.Short != "" {
			short := "-" + f.Short
			if f.TakesValue {
				short += "+"
			}
			out = append(out, fmt.Sprintf("'(-%s --%s)'{%s,%s}'%s%s'", f.Short, f.Name, short, long, desc, arg))
		} else {
			out = append(out, fmt.Sprintf("'%s%s%s'", long, desc, arg))
		}
	}
	return out
}

func writeZshCompletion(b *strings.Builder, root *cobra.Command) {
	global := globalFlagInfos(root)
	cmds := commandInfos(root, false)
	b.WriteString("#compdef phylum-box\n")
	b.WriteString("# zsh completion for phylum-box; generated by: phylum-box completion zsh\n")
	b.WriteString("_phylum-box() {\n")
	b.WriteString("  local curcontext=\"$curcontext\" state line ret=1\n")
	b.WriteString("  typeset -A opt_args\n")
	b.WriteString("  _arguments -C -A '-*' \\\n")
	for _, s := range zshFlagSpecs(global) {
		fmt.Fprintf(b, "    %s \\\n", s)
	}
	b.WriteString("    '1: :->command' \\\n")
	b.WriteString("    '*:: :->args' && ret=0\n")
	b.WriteString("  case $state in\n")
	b.WriteString("    command)\n")
	b.WriteString("      local -a cmds\n")
	b.WriteString("      cmds=(\n")
	for _, c := range cmds {
		for _, n := range c.names() {
			fmt.Fprintf(b, "        '%s:%s'\n", n, strings.ReplaceAll(firstLine(c.Short), "'", `'\''`))
		}
	}
	b.WriteString("      )\n")
	b.WriteString("      _describe -t commands 'phylum-box command' cmds && ret=0\n")
	b.WriteString("      ;;\n")
	b.WriteString("    args)\n")
	b.WriteString("      case $words[1] in\n")
	for _, c := range cmds {
		fmt.Fprintf(b, "        %s)\n", strings.Join(c.names(), "|"))
		if c.Raw {
			// words[1] is the package manager: complete as if it had been typed alone.
			b.WriteString("          _normal && ret=0\n")
			b.WriteString("          ;;\n")
			continue
		}
		b.WriteString("          _arguments \\\n")
		for _, s := range zshFlagSpecs(append(append([]flagInfo{}, c.Flags...), notShadowed(withoutHelp(global), c.Flags)...)) {
			fmt.Fprintf(b, "            %s \\\n", s)
		}
		if v := c.Values; len(v) > 0 {
			fmt.Fprintf(b, "            '1:%s:(%s)' \\\n", c.Name, strings.Join(v, " "))
		} else {
			b.WriteString("            '*:file:_files' \\\n")
		}
		b.WriteString("            && ret=0\n")
		b.WriteString("          ;;\n")
	}
	b.WriteString("      esac\n")
	b.WriteString("      ;;\n")
	b.WriteString("  esac\n")
	b.WriteString("  return ret\n")
	b.WriteString("}\n")
	// Works both autoloaded from $fpath and sourced after compinit.
	b.WriteString("if [[ ${funcstack[1]} == _phylum-box ]]; then\n")
	b.WriteString("  _phylum-box \"$@\"\n")
	b.WriteString("else\n")
	b.WriteString("  compdef _phylum-box phylum-box\n")
	b.WriteString("fi\n")
}

// withoutHelp drops -h/--help, which every command defines itself.
func withoutHelp(flags []flagInfo) []flagInfo {
	var out []flagInfo
	for _, f := range flags {
		if f.Name != "help" && f.Name != "version" {
			out = append(out, f)
		}
	}
	return out
}

// notShadowed drops the global flags a command defines itself (check --format):
// the command's own flag is the one that parses.
func notShadowed(global, own []flagInfo) []flagInfo {
	var out []flagInfo
	for _, g := range global {
		if !slices.ContainsFunc(own, func(f flagInfo) bool { return f.Name == g.Name }) {
			out = append(out, g)
		}
	}
	return out
}

func fishFlagLine(b *strings.Builder, cond string, f flagInfo) {
	b.WriteString("complete -c phylum-box")
	if cond != "" {
		fmt.Fprintf(b, " -n %s", fishQuote(cond))
	}
	if f.Short != "" {
		fmt.Fprintf(b, " -s %s", f.Short)
	}
	fmt.Fprintf(b, " -l %s", f.Name)
	switch {
	case len(f.Values) > 0:
		fmt.Fprintf(b, " -x -a %s", fishQuote(strings.Join(f.Values, " ")))
	case f.TakesValue:
		b.WriteString(" -r -F")
	}
	fmt.Fprintf(b, " -d %s\n", fishQuote(firstLine(f.Usage)))
}

func writeFishCompletion(b *strings.Builder, root *cobra.Command) {
	global := globalFlagInfos(root)
	cmds := commandInfos(root, false)
	var all []string
	for _, c := range cmds {
		all = append(all, c.names()...)
	}
	b.WriteString("# fish completion for phylum-box; generated by: phylum-box completion fish\n")
	b.WriteString("complete -c phylum-box -f\n")
	// After a package manager, its own completion takes over: no phylum-box flags.
	var raw []string
	for _, c := range cmds {
		if c.Raw {
			raw = append(raw, c.names()...)
		}
	}
	globalCond := ""
	if len(raw) > 0 {
		globalCond = "not __fish_seen_subcommand_from " + strings.Join(raw, " ")
	}
	for _, f := range global {
		fishFlagLine(b, globalCond, f)
	}
	for _, c := range cmds {
		for _, n := range c.names() {
			fmt.Fprintf(b, "complete -c phylum-box -n __fish_use_subcommand -a %s -d %s\n", n, fishQuote(firstLine(c.Short)))
		}
	}
	for _, c := range cmds {
		cond := "__fish_seen_subcommand_from " + strings.Join(c.names(), " ")
		if c.Raw {
			// Hand over to the package manager's completion: skip the one token
			// "phylum-box" (and its flags); the manager's name starts the command line.
			fmt.Fprintf(b, "complete -c phylum-box -n %s -x -a %s\n", fishQuote(cond), fishQuote("(__fish_complete_subcommand --fcs-skip=1)"))
			continue
		}
		for _, f := range c.Flags {
			if f.Name == "help" {
				continue
			}
			fishFlagLine(b, cond, f)
		}
		if v := c.Values; len(v) > 0 {
			fmt.Fprintf(b, "complete -c phylum-box -n %s -x -a %s\n", fishQuote(cond), fishQuote(strings.Join(v, " ")))
		} else {
			fmt.Fprintf(b, "complete -c phylum-box -n %s -F\n", fishQuote(cond))
		}
	}
}
