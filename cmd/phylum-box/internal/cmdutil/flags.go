package cmdutil

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// FlagInfo is one flag as completion and the reference need it.
type FlagInfo struct {
	Name, Short, Usage, Type, Default string
	TakesValue                        bool
	Values                            []string // fixed choices, from a Type such as "auto|always|never"
}

// CommandInfo is one command as completion and the reference need it: its own
// flags (global flags apart) and the fixed words it takes (a group's subcommands).
type CommandInfo struct {
	Name, Use, Short string
	Aliases          []string
	Raw              bool
	Hidden           bool
	Flags            []FlagInfo
	Values           []string
	Cmd              *cobra.Command
}

var choiceWord = lazyre.New(`^[A-Za-z0-9._+-]+$`)

// ChoicesAnnotation lists a flag's fixed values (pflag annotation), for completion
// and the reference. Commands set it with FlagChoices.
const ChoicesAnnotation = "phylum-box/choices"

// FlagChoices declares the values a flag accepts, e.g.
// FlagChoices(fs, "format", "text", "json", "sarif"), so completion offers them and
// the reference lists them. The command still validates the value itself.
func FlagChoices(fs *pflag.FlagSet, name string, values ...string) {
	if err := fs.SetAnnotation(name, ChoicesAnnotation, values); err != nil {
		panic(err) // a programming error: the flag is defined by the same command
	}
}

func FlagInfos(fs *pflag.FlagSet) []FlagInfo {
	var out []FlagInfo
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		fi := FlagInfo{
			Name: f.Name, Short: f.Shorthand, Usage: f.Usage, Type: f.Value.Type(),
			Default: f.DefValue, TakesValue: f.NoOptDefVal == "",
		}
		if vals, ok := f.Annotations[ChoicesAnnotation]; ok {
			for _, v := range vals {
				if choiceWord().MatchString(v) {
					fi.Values = append(fi.Values, v)
				}
			}
		} else if strings.Contains(fi.Type, "|") {
			for _, v := range strings.Split(fi.Type, "|") {
				if choiceWord().MatchString(v) {
					fi.Values = append(fi.Values, v)
				}
			}
		}
		out = append(out, fi)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// GlobalFlagInfos are the flags accepted before (and after) any command.
func GlobalFlagInfos(root *cobra.Command) []FlagInfo {
	return FlagInfos(GlobalFlagSet(root))
}

// CommandInfos lists root's commands, sorted by name; hidden ones only when
// withHidden is set. A group's flags are its subcommands' together.
func CommandInfos(root *cobra.Command, withHidden bool) []CommandInfo {
	addHelpFlags(root)
	var out []CommandInfo
	for _, c := range root.Commands() {
		if c.Name() == "help" || (c.Hidden && !withHidden) {
			continue
		}
		ci := CommandInfo{Name: c.Name(), Use: c.Use, Short: c.Short, Aliases: c.Aliases, Hidden: c.Hidden,
			Raw: c.Annotations[RawAnnotation] != "", Values: c.ValidArgs, Cmd: c}
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
			ci.Flags = FlagInfos(fs)
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c CommandInfo) Names() []string { return append([]string{c.Name}, c.Aliases...) }
