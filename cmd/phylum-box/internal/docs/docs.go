// Package docs is the hidden `phylum-box docs`: the markdown reference under
// docs/reference, generated from the command tree and the managers' tables.
package docs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/config"
	"github.com/phylum-box/phylum-box/managers"
)

// Regenerate is the command that rewrites the committed reference; the
// drift test prints it.
const Regenerate = "go run -tags seccomp ./cmd/phylum-box docs --dir docs/reference"

// DocsOptions are `docs`'s.
type DocsOptions struct {
	App *cmdutil.App
	Dir string
	// NewRoot builds the command tree the pages describe.
	NewRoot func(*cmdutil.Factory) *cobra.Command
}

// NewCmdDocs is `phylum-box docs`, hidden: maintainers regenerate docs/reference.
func NewCmdDocs(f *cmdutil.Factory, newRoot func(*cmdutil.Factory) *cobra.Command, runF func(*DocsOptions) error) *cobra.Command {
	o := &DocsOptions{App: f.App, NewRoot: newRoot}
	cmd := &cobra.Command{
		Use:    "docs --dir DIR",
		Short:  "write the markdown command reference (for maintainers)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return cmdutil.UsageError("docs takes no arguments; use --dir")
			}
			if runF != nil {
				return runF(o)
			}
			return runDocs(o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "docs/reference", "directory to write the reference pages into")
	return cmd
}

func runDocs(o *DocsOptions) error {
	neutralEnvironment()
	// Built after the environment is neutral: flag defaults are read from it.
	quiet := &cmdutil.App{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Log: cmdutil.NewLogger(io.Discard)}
	pages := ReferencePages(o.NewRoot(&cmdutil.Factory{App: quiet}))
	if err := writeReference(o.Dir, pages); err != nil {
		return err
	}
	o.App.Log.Infof("wrote %d pages to %s", len(pages), o.Dir)
	return nil
}

// neutralEnvironment makes flag defaults independent of the machine generating the
// reference: no CI, no PHYLUM_BOX_* overrides, no XDG dirs, and HOME spelled
// literally as $HOME so default paths read "$HOME/.cache/phylum-box". The docs
// command exits right after, so changing its own environment is harmless.
func neutralEnvironment() {
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "PHYLUM_BOX_") || strings.HasPrefix(k, "XDG_") {
			os.Unsetenv(k)
		}
	}
	os.Unsetenv("CI")
	os.Unsetenv("NO_COLOR")
	os.Setenv("HOME", "$HOME")
}

// ReferencePages renders one page per visible command plus the index, keyed by
// file name.
func ReferencePages(root *cobra.Command) map[string]string {
	pages := map[string]string{}
	cmds := cmdutil.CommandInfos(root, false)
	var idx strings.Builder
	idx.WriteString("# phylum-box command reference\n\n")
	idx.WriteString("phylum-box — precheck and sandbox package installs.\n\n")
	idx.WriteString("## Usage\n\n")
	idx.WriteString("    phylum-box [global flags] COMMAND [ARGS...]\n\n")
	idx.WriteString("## Commands\n\n")
	idx.WriteString("| command | summary |\n| --- | --- |\n")
	for _, c := range cmds {
		fmt.Fprintf(&idx, "| [%s](%s) | %s |\n", c.Name, PageName(c.Name), cell(c.Short))
	}
	idx.WriteString("\n## Global flags\n\nAccepted before the command or after it; for a package manager, before its name.\n\n")
	writeFlagTable(&idx, cmdutil.GlobalFlagInfos(root))
	idx.WriteString("\n## Configuration\n\nEvery setting can also come from the config file or a `PHYLUM_BOX_*` variable; " +
		"see [configuration](../configuration.md). Variables: ")
	var vars []string
	for _, k := range config.Keys() {
		vars = append(vars, "`"+config.EnvVars()[k]+"`")
	}
	idx.WriteString(strings.Join(vars, ", ") + ".\n")
	idx.WriteString(generatedFooter)
	pages["README.md"] = idx.String()

	for _, c := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "# phylum-box %s\n\n%s\n\n", c.Name, c.Short)
		fmt.Fprintf(&b, "## Usage\n\n    phylum-box %s\n", c.Use)
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&b, "\nAliases: %s\n", "`"+strings.Join(c.Aliases, "`, `")+"`")
		}
		if long := strings.TrimSpace(cmdutil.CommandLong(c.Cmd)); long != "" {
			fmt.Fprintf(&b, "\n## Description\n\n```text\n%s\n```\n", long)
		}
		if c.Raw {
			fmt.Fprintf(&b, "\nThe arguments are the package manager's own, passed on unchanged; "+
				"phylum-box's global flags go before `%s`.\n", c.Name)
		} else {
			writeCommandFlags(&b, c)
			b.WriteString("\nThe [global flags](README.md#global-flags) are accepted too.\n")
		}
		b.WriteString(generatedFooter)
		pages[PageName(c.Name)] = b.String()
	}
	// Each manager's table of project settings (managers.RegisterSettingsPage).
	for name, body := range managers.SettingsPages() {
		pages[name] = body + settingsFooter
	}
	return pages
}

// writeCommandFlags writes a command's flags table, or for a group, each
// subcommand's usage and flags.
func writeCommandFlags(b *strings.Builder, c cmdutil.CommandInfo) {
	var subs []*cobra.Command
	for _, s := range c.Cmd.Commands() {
		if !s.Hidden && s.Name() != "help" {
			subs = append(subs, s)
		}
	}
	if len(subs) == 0 {
		b.WriteString("\n## Flags\n\n")
		writeFlagTable(b, c.Flags)
		return
	}
	for _, s := range subs {
		fmt.Fprintf(b, "\n## %s %s\n\n%s\n\n    phylum-box %s %s\n\n", c.Name, s.Name(), s.Short, c.Name, s.Use)
		writeFlagTable(b, cmdutil.FlagInfos(s.LocalNonPersistentFlags()))
	}
}

const settingsFooter = "\n<!-- Generated by `" + Regenerate + "` from the managers' settings tables; do not edit. -->\n"

const generatedFooter = "\n<!-- Generated by `" + Regenerate + "` from the flag definitions; do not edit. -->\n"

func PageName(cmd string) string { return cmd + ".md" }

func writeFlagTable(b *strings.Builder, flags []cmdutil.FlagInfo) {
	if len(flags) == 0 {
		b.WriteString("None.\n")
		return
	}
	b.WriteString("| flag | value | default | description |\n| --- | --- | --- | --- |\n")
	for _, f := range flags {
		name := "`--" + f.Name + "`"
		if f.Short != "" {
			name = "`-" + f.Short + "`, " + name
		}
		value, def := "", ""
		if f.TakesValue {
			value = "`" + f.Type + "`"
			if len(f.Values) > 0 {
				value = "`" + strings.Join(f.Values, "`, `") + "`"
			}
		}
		if f.Default != "" && f.Default != "false" && f.Default != "[]" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, cell(value), cell(def), cell(f.Usage))
	}
}

// cell keeps text inside one markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// writeReference replaces dir's generated pages with pages, removing pages of
// commands that no longer exist.
func writeReference(dir string, pages map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("docs: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if _, keep := pages[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("docs: removing stale page: %w", err)
			}
		}
	}
	for name, body := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("docs: %w", err)
		}
	}
	return nil
}
