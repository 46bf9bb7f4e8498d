package osvdb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateExtras(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "lists", "adir"), 0o755)
	os.WriteFile(filepath.Join(src, "lists", "good.txt"), []byte("good\n"), 0o644)
	os.WriteFile(filepath.Join(src, "lists", "bad.txt"), []byte("bad\n"), 0o644)
	os.WriteFile(filepath.Join(src, "lists", "big.txt"), []byte(strings.Repeat("x", 101)), 0o644)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "osv.db")
	accept := func(data []byte, from ExtraSource) ([]byte, error) {
		if string(data) == "bad\n" {
			return nil, errors.New("refused")
		}
		return append([]byte(from.Location+" "+from.SHA256[:8]+"\n"), data...), nil
	}
	x := func(p, dest string) Extra {
		return Extra{Path: p, Dest: filepath.Join(dir, dest), MaxBytes: 100, Accept: accept}
	}
	for _, d := range []string{"osv.db.bad", "osv.db.big", "osv.db.adir", "osv.db.missing"} {
		os.WriteFile(filepath.Join(dir, d), []byte("old\n"), 0o644)
	}
	res, err := UpdateExtras(context.Background(), dbPath, "file://"+src, []Extra{
		x("lists/good.txt", "osv.db.good"), x("lists/bad.txt", "osv.db.bad"), x("lists/big.txt", "osv.db.big"),
		x("lists/adir", "osv.db.adir"), x("lists/missing.txt", "osv.db.missing"),
		{Path: "lists/good.txt", Dest: filepath.Join(t.TempDir(), "elsewhere"), MaxBytes: 100, Accept: accept},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "refused", "more than 100 bytes", "not a regular file", "missing", "not next to the database"}
	for i, r := range res {
		got := ""
		switch {
		case r.Missing:
			got = "missing"
		case r.Err != nil:
			got = r.Err.Error()
		}
		if want[i] == "" && got != "" || !strings.Contains(got, want[i]) {
			t.Errorf("%s: %q, want %q", r.Path, got, want[i])
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "osv.db.good")); !strings.HasPrefix(string(b), filepath.Join(src, "lists", "good.txt")+" ") || !strings.HasSuffix(string(b), "\ngood\n") {
		t.Errorf("stored: %q", b)
	}
	for _, d := range []string{"osv.db.bad", "osv.db.big", "osv.db.adir", "osv.db.missing"} {
		if b, _ := os.ReadFile(filepath.Join(dir, d)); string(b) != "old\n" {
			t.Errorf("%s changed: %q", d, b)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".osv.db.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestSourceCredentialsStayOut: a mirror's user name (a token) and password
// reach the server but neither the stored source nor any message, also when the
// URL does not parse; the same mirror still serves the database and the extras.
func TestSourceCredentialsStayOut(t *testing.T) {
	srv := newExportServer(t)
	srv.zips["/lists/top.txt"] = []byte("top\n")
	var auth []string
	srv.hook("/lists/top.txt", func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		auth = append(auth, u+":"+p)
		w.Write([]byte("top\n"))
	})
	secret := func(s string) bool { return strings.Contains(s, "tok3n") || strings.Contains(s, "hunter2") }
	for _, cred := range []string{"tok3n@", "tok3n:hunter2@"} {
		base := strings.Replace(srv.URL, "http://", "http://"+cred, 1)
		dir := t.TempDir()
		dbPath := filepath.Join(dir, "osv.db")
		var logs []string
		p := &Progress{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}
		if err := Update(context.Background(), dbPath, base, []string{"npm"}, p); err != nil {
			t.Fatal(err)
		}
		db := mustOpen(t, dbPath)
		st, err := db.Status()
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprintf("%+v %v", st, logs); secret(s) || !strings.Contains(s, srv.URL) {
			t.Errorf("%s: status and log %s", cred, s)
		}
		res, err := UpdateExtras(context.Background(), dbPath, base, []Extra{{Path: "lists/top.txt", Dest: filepath.Join(dir, "osv.db.top"), MaxBytes: 100,
			Accept: func(data []byte, from ExtraSource) ([]byte, error) {
				return append([]byte(from.Location+"\n"), data...), nil
			}}}, nil)
		if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Missing {
			t.Fatalf("%s: %v %+v", cred, err, res)
		}
		stored, _ := os.ReadFile(filepath.Join(dir, "osv.db.top"))
		if want := srv.URL + "/lists/top.txt\ntop\n"; string(stored) != want {
			t.Errorf("%s: stored %q, want %q", cred, stored, want)
		}
	}
	if len(auth) != 2 || auth[0] != "tok3n:" || auth[1] != "tok3n:hunter2" {
		t.Errorf("the mirror got credentials %q", auth)
	}

	bad := strings.Replace(srv.URL, "http://", "http://tok3n:hunter2@", 1) + "/%zz"
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	err := Update(context.Background(), dbPath, bad, []string{"npm"}, nil)
	if err == nil || secret(err.Error()) || !strings.Contains(err.Error(), "not a valid URL") {
		t.Errorf("unparsable source: %v", err)
	}
	res, err := UpdateExtras(context.Background(), dbPath, bad, []Extra{{Path: "lists/top.txt", Dest: dbPath + ".top", MaxBytes: 100,
		Accept: func(data []byte, _ ExtraSource) ([]byte, error) { return data, nil }}}, nil)
	if err != nil || len(res) != 1 || res[0].Err == nil || secret(res[0].Err.Error()) || secret(res[0].Source.Location) {
		t.Errorf("unparsable source: %v %+v", err, res)
	}
}
