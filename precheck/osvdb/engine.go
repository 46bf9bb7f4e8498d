package osvdb

import (
	"context"

	"github.com/phylum-box/phylum-box/precheck"
)

// Engine adapts db to precheck.Database, the interface the precheck engine reads
// (precheck cannot import this package: this package imports precheck).
func Engine(db *DB) precheck.Database { return engineDB{db} }

type engineDB struct{ db *DB }

func (d engineDB) LookupAll(ctx context.Context, pkgs []precheck.Package) ([]precheck.Lookup, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := d.db.LookupBatch(pkgs)
	if err != nil {
		return nil, err
	}
	out := make([]precheck.Lookup, len(res))
	for i, r := range res {
		out[i] = precheck.Lookup{Findings: r.Findings, Err: r.Err}
	}
	return out, nil
}

func (d engineDB) Status() (precheck.DatabaseStatus, error) {
	st, err := d.db.Status()
	if err != nil {
		return precheck.DatabaseStatus{}, err
	}
	out := precheck.DatabaseStatus{Path: st.Path, Updated: st.Updated}
	for _, e := range st.Ecosystems {
		out.Ecosystems = append(out.Ecosystems, precheck.EcosystemStatus{Name: e.Name, Records: e.Records, Updated: e.Updated})
	}
	return out, nil
}
