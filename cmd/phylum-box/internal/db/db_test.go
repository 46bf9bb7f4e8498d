package db

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/exitcode"
)

func runDB(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmdtest.KeepEnvironment(t)
	// No user config file, no database or source from the environment.
	os.Setenv("XDG_CONFIG_HOME", t.TempDir())
	os.Unsetenv("PHYLUM_BOX_DB")
	os.Unsetenv("PHYLUM_BOX_DB_SOURCE")
	os.Unsetenv("CI")
	app, stdout, stderr := cmdutil.TestApp()
	code := cmdtest.Main(context.Background(), app, append([]string{"db"}, args...), NewCmdDB)
	return code, stdout.String(), stderr.String()
}

func TestDBImportAndStatus(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "data", "osv.db")
	code, _, stderr := runDB(t, "import", "--db", dbPath, cmdtest.OSVDir(t))
	if code != 0 {
		t.Fatalf("db import: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "[phylum-box] npm: 21 advisories for 26 packages") {
		t.Errorf("import log:\n%s", stderr)
	}

	code, stdout, stderr := runDB(t, "status", "--db", dbPath)
	if code != 0 {
		t.Fatalf("db status: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"database: " + dbPath, "npm        21          26", "PyPI       12          12", "RubyGems   7", "crates.io  5"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status text lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, _ = runDB(t, "status", "--format", "json", "--db", dbPath)
	var st struct {
		Path       string `json:"path"`
		Format     int    `json:"format"`
		Updated    time.Time
		AgeSeconds *int64 `json:"age_seconds"`
		Ecosystems []struct {
			Name              string
			Records, Packages int
			Updated           time.Time
		}
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil {
		t.Fatalf("status json: exit %d\n%s", code, stdout)
	}
	if st.Path != dbPath || st.Format != 1 || st.Updated.IsZero() || st.AgeSeconds == nil || len(st.Ecosystems) != 4 {
		t.Errorf("status json: %+v", st)
	}

	// PHYLUM_BOX_DB is honoured when --db is not given.
	cmdtest.KeepEnvironment(t)
	os.Setenv("PHYLUM_BOX_DB", dbPath)
	app, stdout2, _ := cmdutil.TestApp()
	if code := cmdtest.Main(context.Background(), app, []string{"db", "status"}, NewCmdDB); code != 0 || !strings.Contains(stdout2.String(), dbPath) {
		t.Errorf("PHYLUM_BOX_DB: exit %d\n%s", code, stdout2)
	}
}

func TestDBUpdateFromLocalServer(t *testing.T) {
	zips := map[string][]byte{}
	for _, eco := range []string{"npm", "PyPI", "RubyGems", "crates.io"} {
		zips["/"+eco+"/all.zip"] = cmdtest.OSVZip(t, eco)
	}
	truncate := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := zips[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if truncate {
			data = data[:len(data)-100]
		}
		w.Write(data)
	}))
	defer srv.Close()

	dbPath := filepath.Join(t.TempDir(), "osv.db")
	code, _, stderr := runDB(t, "update", "--db", dbPath, "--source", srv.URL, "--ecosystem", "npm,pypi")
	if code != 0 {
		t.Fatalf("db update: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := runDB(t, "status", "--db", dbPath)
	if code != 0 || !strings.Contains(stdout, "npm ") || !strings.Contains(stdout, "PyPI ") || !strings.Contains(stdout, "never (run `phylum-box db update --ecosystem RubyGems`)") {
		t.Errorf("status after npm,PyPI update (exit %d):\n%s", code, stdout)
	}
	before, _ := os.ReadFile(dbPath)

	truncate = true
	code, _, stderr = runDB(t, "update", "--db", dbPath, "--source", srv.URL)
	if code != exitcode.Internal || !strings.Contains(stderr, srv.URL+"/npm/all.zip") || !strings.Contains(stderr, "unchanged") {
		t.Errorf("truncated export: exit %d\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(dbPath); !bytes.Equal(before, after) {
		t.Error("a failed update changed the database")
	}
}

func TestDBUsageErrors(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitcode.Usage, "missing subcommand"},
		{[]string{"frobnicate"}, exitcode.Usage, "unknown subcommand"},
		{[]string{"import", "--db", dbPath}, exitcode.Usage, "give one or more"},
		{[]string{"import", "--db", dbPath, "/nonexistent/osv"}, exitcode.Usage, "/nonexistent/osv"},
		{[]string{"import", "--db", dbPath, "--ecosystem", "npm", "x"}, exitcode.Usage, "db import: unknown flag: --ecosystem"},
		{[]string{"status", "--db", dbPath, "--source", "x"}, exitcode.Usage, "db status: unknown flag: --source"},
		{[]string{"update", "--db", dbPath, "--ecosystem", "Go"}, exitcode.Usage, `unknown ecosystem "Go"`},
		{[]string{"update", "--db", dbPath, "extra"}, exitcode.Usage, "takes no arguments"},
		{[]string{"status", "--db", dbPath, "--format", "xml"}, exitcode.Usage, "unknown format"},
		{[]string{"status", "--db", dbPath}, exitcode.Incomplete, "phylum-box db update"},
	}
	for _, tt := range tests {
		code, _, stderr := runDB(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("db %v: exit %d, want %d with %q\n%s", tt.args, code, tt.code, tt.want, stderr)
		}
	}
}

func TestDBProgressOnlyOnTerminal(t *testing.T) {
	// testApp is not a terminal: no bars, only [phylum-box] lines.
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	code, _, stderr := runDB(t, "import", "--db", dbPath, cmdtest.OSVDir(t))
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(line, "[phylum-box] ") {
			t.Errorf("unexpected output without a terminal: %q", line)
		}
	}
	// With bars requested, they go to the given writer.
	var bars bytes.Buffer
	app, _, _ := cmdutil.TestApp()
	zp := filepath.Join(t.TempDir(), "all.zip")
	os.WriteFile(zp, cmdtest.OSVZip(t, "npm"), 0o644)
	o := &DBImportOptions{App: app, DBPath: filepath.Join(t.TempDir(), "osv.db"), Paths: []string{zp}, Bars: &bars}
	if err := runDBImport(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bars.String(), "importing all.zip") {
		t.Errorf("no progress bar drawn: %q", bars.String())
	}
}
