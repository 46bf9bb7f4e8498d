package cmdutil

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// The advice for a missing database names it with --db when it is not the
// default one: `phylum-box db update` alone would make the default (found trying
// phylum-box as a new user with --db).
func TestDBFlag(t *testing.T) {
	t.Setenv(osvdb.EnvDB, "")
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	def, err := osvdb.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "my db.db")
	for path, want := range map[string]string{def: "", "": "", "/srv/osv.db": "--db /srv/osv.db", other: "--db '" + other + "'"} {
		if got := DBFlag(path); got != want {
			t.Errorf("DBFlag(%q) = %q, want %q", path, got, want)
		}
	}
	t.Setenv(osvdb.EnvDB, "/srv/osv.db") // PHYLUM_BOX_DB reaches the db commands too
	if got := DBFlag("/srv/osv.db"); got != "" {
		t.Errorf("the PHYLUM_BOX_DB database: %q", got)
	}
	eng := &precheck.Engine{DBPath: other, DBFlag: DBFlag(other)}
	v, err := eng.Evaluate(context.Background(), []precheck.Package{{Ecosystem: precheck.NPM, Name: "x", Version: "1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Problems) != 1 || !strings.Contains(v.Problems[0], "run `phylum-box --db '"+other+"' db update`") {
		t.Errorf("problems %q", v.Problems)
	}
}
