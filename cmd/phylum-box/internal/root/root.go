// Package root assembles phylum-box's command tree: one package per command
// group under cmd/phylum-box/internal, each with NewCmdX(f, runF), an XOptions and
// runX, on the framework in cmdutil (global flags, the Factory, help, errors).
package root

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/check"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/completion"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/db"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/docs"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/doctor"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/manager"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/run"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/shellinit"
)

// NewCmdRoot builds the whole command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	root := cmdutil.NewRoot(f)
	root.AddCommand(
		manager.NewCmdAnalyze(f, nil),
		check.NewCmdCheck(f, nil),
		completion.NewCmdCompletion(f, nil),
		db.NewCmdDB(f),
		docs.NewCmdDocs(f, NewCmdRoot, nil),
		doctor.NewCmdDoctor(f, nil),
		run.NewCmdRun(f, nil),
		doctor.NewCmdSetup(f, nil),
		shellinit.NewCmdShellInit(f, nil),
		newCmdEgressBridge(f),
	)
	root.AddCommand(manager.NewCmdManagers(f, nil)...)
	return root
}

// Main runs one command line and returns the process exit code.
func Main(ctx context.Context, app *cmdutil.App, version string, args []string) int {
	f := &cmdutil.Factory{App: app, Version: version}
	return cmdutil.Main(ctx, app, NewCmdRoot(f), args)
}
