package integration

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `db update` refreshes the typosquatting lists from a team mirror's
// toplists/: a name one letter off a target that only the refreshed list has is
// flagged by the next install (blocked under `analysis: {typosquat: block}`),
// while the same install passed with the built-in list, and a mirror without
// toplists/ kept the built-in list and said so.

// tlMirror writes a local database source readable by the mode's user: npm's
// export (one record for a package nobody installs) and, when list is not "",
// toplists/top-npm.txt.
func tlMirror(t *testing.T, m mode, dir, list string) string {
	t.Helper()
	src := filepath.Join(dir, "mirror")
	f, err := os.Create(filepath.Join(mustMkdir(t, filepath.Join(src, "npm")), "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("MAL-2099-7000.json")
	w.Write([]byte(`{"schema_version":"1.5.0","id":"MAL-2099-7000","modified":"2025-01-01T00:00:00Z","published":"2025-01-01T00:00:00Z",` +
		`"summary":"Malicious code in pbox-never-installed (test record)","affected":[{"package":{"ecosystem":"npm","name":"pbox-never-installed"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if list != "" {
		writeFile(t, filepath.Join(src, "toplists", "top-npm.txt"), list, 0o644)
	}
	chownTree(t, m, src)
	return src
}

func mustMkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTopListRefreshFlagsInstall(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	pkgs := map[string]map[string]string{
		"phylumbox-widgte": {"package.json": `{"name":"phylumbox-widgte","version":"1.0.0"}`},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		// The twin: a mirror without lists keeps the built-in one, under which
		// the name is nobody's imitation.
		b := detectProject(t, m, pkgs)
		lbPolicy(t, b, m, "analysis: {typosquat: block}\n")
		src := tlMirror(t, m, filepath.Dir(b.DB), "")
		r := b.tool("", "db", "update", "--source", src, "--ecosystem", "npm")
		wantCode(t, r, 0, "db update from a mirror without toplists/")
		wantStderr(t, r, "typosquatting list for npm: the source has no toplists/top-npm.txt; kept the list in use (", "built into phylum-box")
		r = b.tool("", "npm", "install")
		wantCode(t, r, 0, "a name that imitates nothing on the built-in list")
		wantFile(t, filepath.Join(b.Project, "node_modules", "phylumbox-widgte", "package.json"), "the package is synced")

		// The attack: the refreshed list names phylumbox-widget.
		c := detectProject(t, m, pkgs)
		lbPolicy(t, c, m, "analysis: {typosquat: block}\n")
		src = tlMirror(t, m, filepath.Dir(c.DB), "# the team's list\nphylumbox-widget\nreact\n")
		r = c.tool("", "db", "update", "--source", src, "--ecosystem", "npm")
		wantCode(t, r, 0, "db update from a mirror with toplists/")
		wantStderr(t, r, "typosquatting list for npm: 2 names, fetched ", filepath.Join(src, "toplists", "top-npm.txt"))
		r = c.tool("", "db", "status")
		wantCode(t, r, 0, "db status")
		if !strings.Contains(r.Stdout, "npm        2      fetched ") {
			t.Errorf("db status does not show the fetched list\n%s", r)
		}
		before := treeHash(t, c.Project, true)
		r = c.tool("", "npm", "install")
		wantCode(t, r, 3, "a name one transposition off a target of the refreshed list")
		wantStderr(t, r, "phylumbox-widgte@1.0.0", "PB-ANALYSIS-TYPOSQUAT", "phylumbox-widget", "nothing was synced back")
		assertSameTree(t, before, treeHash(t, c.Project, true), "a blocked install")
	})
}
