// Package cmdtest holds what the command packages' tests share: the real OSV
// corpus and a database imported from it, lockfile writers, and running a command
// line through a root holding the commands under test.
package cmdtest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdutil"
	"github.com/phylum-box/phylum-box/internal/testutil/corpus"
	"github.com/phylum-box/phylum-box/precheck/osvdb"
)

// Main runs args as Main does, on a root holding only the commands cmds build.
func Main(ctx context.Context, app *cmdutil.App, args []string, cmds ...func(*cmdutil.Factory) *cobra.Command) int {
	f := &cmdutil.Factory{App: app, Version: "test"}
	root := cmdutil.NewRoot(f)
	for _, c := range cmds {
		root.AddCommand(c(f))
	}
	return cmdutil.Main(ctx, app, root, args)
}

// CorpusDir is ../shared/corpus beside the repository; tests skip without it.
func CorpusDir(t testing.TB) string {
	t.Helper()
	c, err := corpus.Find()
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	return c
}

var (
	dbOnce sync.Once
	dbPath string
	dbErr  error
	// DBTime is when the corpus database was imported.
	DBTime time.Time
)

// CorpusDB imports the real OSV corpus once per test binary; tests open it
// read-only, which osvdb allows concurrently.
func CorpusDB(t *testing.T) string {
	t.Helper()
	osvDir := filepath.Join(CorpusDir(t), "osv")
	dbOnce.Do(func() {
		dir, err := os.MkdirTemp("", "phylum-box-check-test-")
		if err != nil {
			dbErr = err
			return
		}
		dbPath = filepath.Join(dir, "osv.db")
		DBTime = time.Now()
		dbErr = osvdb.Import(context.Background(), dbPath, []string{osvDir}, nil)
	})
	if dbErr != nil {
		t.Fatalf("import the OSV corpus: %v", dbErr)
	}
	return dbPath
}

// Cleanup removes the corpus database; call it from TestMain after m.Run.
func Cleanup() {
	if dbPath != "" {
		os.RemoveAll(filepath.Dir(dbPath))
	}
}

// PackageLock writes a package-lock.json v3 with the given name → version entries.
func PackageLock(t *testing.T, dir string, pkgs map[string]string) string {
	t.Helper()
	packages := map[string]any{"": map[string]any{"name": "proj", "version": "1.0.0"}}
	for name, v := range pkgs {
		packages["node_modules/"+name] = map[string]any{
			"version":  v,
			"resolved": "https://registry.npmjs.org/" + name + "/-/" + filepath.Base(name) + "-" + v + ".tgz",
		}
	}
	data, err := json.MarshalIndent(map[string]any{"name": "proj", "version": "1.0.0", "lockfileVersion": 3,
		"requires": true, "packages": packages}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "package-lock.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// OSVDir is the corpus's OSV records.
func OSVDir(t testing.TB) string { return filepath.Join(CorpusDir(t), "osv") }

// OSVZip zips the corpus records of one ecosystem, as OSV's <Ecosystem>/all.zip.
func OSVZip(t testing.TB, eco string) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(OSVDir(t), "*.json"))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Affected []struct {
				Package struct{ Ecosystem string } `json:"package"`
			} `json:"affected"`
		}
		json.Unmarshal(data, &r)
		if len(r.Affected) == 0 || r.Affected[0].Package.Ecosystem != eco {
			continue
		}
		w, _ := zw.Create(filepath.Base(f))
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

// KeepEnvironment restores the whole process environment after a test that runs
// neutralEnvironment.
func KeepEnvironment(t testing.TB) {
	t.Helper()
	saved := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, e := range saved {
			k, v, _ := strings.Cut(e, "=")
			os.Setenv(k, v)
		}
	})
}
