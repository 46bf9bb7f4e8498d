package db

// `db update` also refreshes the typosquatting lists: a source (a team mirror
// written by `go run ./hack/toplist -mirror DIR`) may serve
// <source>/toplists/top-{npm,pypi,crates,rubygems}.txt beside the exports. Each
// is checked as untrusted data and stored next to the database; the install's
// typosquatting check uses it instead of the list built into phylum-box.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/precheck/analysis"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// updateTopLists fetches the lists of ecos (all when empty) from source and logs
// one line per ecosystem. Lists a source does not offer keep what is in use; a
// list that fails to download or is refused is an error, after the others are
// done (the database itself is already updated by then).
func updateTopLists(ctx context.Context, app *cmdutil.App, dbPath, source string, ecos []string) error {
	if len(ecos) == 0 {
		ecos = analysis.TopListEcosystems
	}
	current := analysis.LoadTopLists(dbPath)
	inUse := map[string]analysis.TopListInfo{}
	for _, i := range current.Info() {
		inUse[i.Ecosystem] = i
	}
	if source == "" || strings.TrimRight(source, "/") == osvdb.DefaultBase {
		app.Log.Infof("typosquatting lists: the OSV export serves none; kept the lists in use (see `phylum-box db status`)")
		return nil
	}
	var extras []osvdb.Extra
	var extraEcos []string // the ecosystem of each extra
	for _, eco := range ecos {
		file, ok := analysis.TopListFile(eco)
		if !ok {
			continue
		}
		extraEcos = append(extraEcos, eco)
		extras = append(extras, osvdb.Extra{
			Path:     "toplists/" + file,
			Dest:     analysis.StoredTopListPath(dbPath, eco),
			MaxBytes: analysis.MaxTopListBytes,
			Accept: func(data []byte, from osvdb.ExtraSource) ([]byte, error) {
				names, err := analysis.ParseTopList(eco, data)
				if err != nil {
					return nil, err
				}
				return analysis.StoredTopList(eco, names, from.Location, from.Fetched, from.SHA256), nil
			},
		})
	}
	results, err := osvdb.UpdateExtras(ctx, dbPath, source, extras, nil)
	if err != nil {
		return fmt.Errorf("typosquatting lists: %w", err)
	}
	var failed []string
	for i, r := range results {
		eco := extraEcos[i]
		switch {
		case r.Missing:
			app.Log.Infof("typosquatting list for %s: the source has no %s; kept the list in use (%s)", eco, r.Path, inUse[eco].Describe())
		case r.Err != nil:
			app.Log.Warnf("typosquatting list for %s refused: %v; kept the list in use (%s)", eco, r.Err, inUse[eco].Describe())
			failed = append(failed, eco)
		default:
			j := slices.Index(analysis.TopListEcosystems, eco)
			now := analysis.LoadTopLists(dbPath).Info()[j]
			app.Log.Infof("typosquatting list for %s: %s (was: %s)", eco, now.Describe(), inUse[eco].Describe())
			// A short list makes fewer names targets: worth a look, not a refusal
			// (a team may keep a list of its own).
			if emb := analysis.EmbeddedTopLists().Info()[j]; now.Names < emb.Names {
				app.Log.Warnf("the typosquatting list for %s from the source has %d names, the one built into phylum-box %d: names only on the built-in list are no longer targets", eco, now.Names, emb.Names)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the OSV database was updated, but the typosquatting list(s) for %s were not (see the warnings above); the lists in use are unchanged", strings.Join(failed, ", "))
	}
	return nil
}

// writeTopListsStatus is the typosquatting part of `db status`.
func writeTopListsStatus(w io.Writer, lists []analysis.TopListInfo) error {
	fmt.Fprintln(w, "\ntyposquatting lists:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tNAMES\tLIST")
	for _, i := range lists {
		what := "built into phylum-box"
		if i.Built != "" {
			what += " (generated " + i.Built + ")"
		}
		if i.Stored {
			what = "fetched " + i.Fetched.UTC().Format("2006-01-02 15:04 MST") + " from " + i.Source
		} else if i.Problem != "" {
			what += "; " + i.Path + " is not used: " + i.Problem
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", i.Ecosystem, i.Names, what)
	}
	return tw.Flush()
}
