package db

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/cmd/phylum-box/internal/cmdtest"
	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/precheck/analysis"
)

// mirrorDir is a local source laid out as a team mirror: npm's export and, when
// list is not "", toplists/top-npm.txt.
func mirrorDir(t *testing.T, list string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "npm"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "npm", "all.zip"), cmdtest.OSVZip(t, "npm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if list != "" {
		os.MkdirAll(filepath.Join(dir, "toplists"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "toplists", "top-npm.txt"), []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// phylumboxwidget is on no embedded list; the refreshed list makes it a target.
const refreshedList = "# a team's list\r\nphylumboxwidget\r\nreact\r\n"

func TestDBUpdateRefreshesTopList(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "data", "osv.db")

	// A source without toplists/: the embedded list stays, and the update says so.
	code, _, stderr := runDB(t, "update", "--db", dbPath, "--source", mirrorDir(t, ""), "--ecosystem", "npm")
	if code != 0 || !strings.Contains(stderr, "typosquatting list for npm: the source has no toplists/top-npm.txt; kept the list in use (") ||
		!strings.Contains(stderr, "names, built into phylum-box") {
		t.Fatalf("update without lists: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(analysis.StoredTopListPath(dbPath, "npm")); err == nil {
		t.Error("a list was stored from a source that has none")
	}
	if _, _, ok := analysis.LoadTopLists(dbPath).Typosquat("npm", "phylumboxwidgte"); ok {
		t.Error("flagged before the list that names its target was fetched")
	}

	// A source with a list: stored, used, and reported.
	src := mirrorDir(t, refreshedList)
	code, _, stderr = runDB(t, "update", "--db", dbPath, "--source", src, "--ecosystem", "npm")
	if code != 0 || !strings.Contains(stderr, "typosquatting list for npm: 2 names, fetched ") || !strings.Contains(stderr, filepath.Join(src, "toplists", "top-npm.txt")) {
		t.Fatalf("update with a list: exit %d\n%s", code, stderr)
	}
	lists := analysis.LoadTopLists(dbPath)
	if target, _, ok := lists.Typosquat("npm", "phylumboxwidgte"); !ok || target != "phylumboxwidget" {
		t.Errorf("after the refresh: Typosquat(phylumboxwidgte) = %q, %v", target, ok)
	}
	if _, _, ok := lists.Typosquat("npm", "phylumboxwidget"); ok {
		t.Error("a name on the refreshed list is flagged")
	}
	if _, _, ok := lists.Typosquat("PyPI", "reqeusts"); !ok {
		t.Error("PyPI lost its embedded list")
	}

	code, stdout, _ := runDB(t, "status", "--db", dbPath)
	if code != 0 || !strings.Contains(stdout, "typosquatting lists:") || !strings.Contains(stdout, "npm        2      fetched ") ||
		!strings.Contains(stdout, "PyPI") || !strings.Contains(stdout, "built into phylum-box") {
		t.Errorf("status (exit %d):\n%s", code, stdout)
	}
	code, stdout, _ = runDB(t, "status", "--format", "json", "--db", dbPath)
	var st struct {
		TopLists []analysis.TopListInfo `json:"toplists"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || len(st.TopLists) != 4 || !st.TopLists[0].Stored || st.TopLists[0].Names != 2 || st.TopLists[1].Stored {
		t.Errorf("status json: exit %d\n%s", code, stdout)
	}

	// Refused lists keep the stored one: exit 1, the database itself updated.
	stored, _ := os.ReadFile(analysis.StoredTopListPath(dbPath, "npm"))
	for _, bad := range []string{"react\nnot a name\n", "", "# nothing\n", strings.Repeat("x", analysis.MaxTopListBytes+1)} {
		src := mirrorDir(t, "")
		os.MkdirAll(filepath.Join(src, "toplists"), 0o755)
		os.WriteFile(filepath.Join(src, "toplists", "top-npm.txt"), []byte(bad), 0o644)
		os.WriteFile(analysis.StoredTopListPath(dbPath, "npm"), stored, 0o644)
		code, _, stderr = runDB(t, "update", "--db", dbPath, "--source", src, "--ecosystem", "npm")
		if code != exitcode.Internal || !strings.Contains(stderr, "typosquatting list for npm refused") ||
			!strings.Contains(stderr, "the OSV database was updated, but the typosquatting list(s) for npm were not") {
			t.Errorf("list %.40q: exit %d\n%s", bad, code, stderr)
		}
		if after, _ := os.ReadFile(analysis.StoredTopListPath(dbPath, "npm")); !bytes.Equal(after, stored) {
			t.Errorf("list %.40q replaced the stored list", bad)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dbPath), ".osv.db.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Over HTTP: a 404 keeps the list in use; a served list is stored.
func TestDBUpdateTopListsOverHTTP(t *testing.T) {
	files := map[string][]byte{
		"/npm/all.zip":          cmdtest.OSVZip(t, "npm"),
		"/PyPI/all.zip":         cmdtest.OSVZip(t, "PyPI"),
		"/toplists/top-npm.txt": []byte(refreshedList),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	code, _, stderr := runDB(t, "update", "--db", dbPath, "--source", srv.URL, "--ecosystem", "npm,pypi")
	if code != 0 || !strings.Contains(stderr, "typosquatting list for npm: 2 names, fetched ") || !strings.Contains(stderr, srv.URL+"/toplists/top-npm.txt") ||
		!strings.Contains(stderr, "typosquatting list for PyPI: the source has no toplists/top-pypi.txt; kept the list in use") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if target, _, ok := analysis.LoadTopLists(dbPath).Typosquat("npm", "phylumboxwidgte"); !ok || target != "phylumboxwidget" {
		t.Errorf("Typosquat after the HTTP refresh = %q, %v", target, ok)
	}

	// A server error is not a missing list: refused, exit 1, the list kept.
	files["/toplists/top-npm.txt"] = nil
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/toplists/") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write(files[r.URL.Path])
	})
	code, _, stderr = runDB(t, "update", "--db", dbPath, "--source", srv.URL, "--ecosystem", "npm")
	if code != exitcode.Internal || !strings.Contains(stderr, "500 Internal Server Error") {
		t.Errorf("server error: exit %d\n%s", code, stderr)
	}
	if !analysis.LoadTopLists(dbPath).Info()[0].Stored {
		t.Error("the stored list was lost")
	}
}

// A mirror's password in --source is used, not stored or shown.
func TestDBUpdateTopListsRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "team" || p != "s3cret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/npm/all.zip":
			w.Write(cmdtest.OSVZip(t, "npm"))
		case "/toplists/top-npm.txt":
			w.Write([]byte(refreshedList))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	src := strings.Replace(srv.URL, "http://", "http://team:s3cret@", 1)
	code, _, stderr := runDB(t, "update", "--db", dbPath, "--source", src, "--ecosystem", "npm")
	stored, _ := os.ReadFile(analysis.StoredTopListPath(dbPath, "npm"))
	if code != 0 || !analysis.LoadTopLists(dbPath).Info()[0].Stored {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.Contains(string(stored), "s3cret") || strings.Contains(stderr, "s3cret") {
		t.Errorf("the password is stored or shown:\n%s\n%s", stored, stderr)
	}
}
