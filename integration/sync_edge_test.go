package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// File names are chosen by CMD. When phylum-box lists refused changes it must not
// print them raw: an escape sequence can rewrite the terminal (erase the warning,
// set the title), a newline can forge a status line.
func TestRefusalListingEscapesControlCharacters(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.sh(nil, `touch "$(printf '.git/evil\033[2K\r\033]0;owned\007')" "$(printf '.git/x\n[phylum-box] FORGED: nothing was refused')"`)
		wantCode(t, r, 4, "writes under .git/ with hostile names")
		if strings.ContainsAny(r.Stderr, "\x1b\x07\r") {
			t.Errorf("phylum-box printed a control character from a file name (ESC, BEL or CR):\n%q", r.Stderr)
		}
		for _, l := range strings.Split(r.Stderr, "\n") {
			if strings.HasPrefix(l, "[phylum-box] FORGED") {
				t.Errorf("a file name forged a status line:\n%s", r.Stderr)
			}
		}
	})
}

// The user keeps working while an install runs. If they edit a file that CMD also
// changes, the sync must not silently overwrite their edit.
func TestHostEditDuringRunIsNotLost(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		readme := filepath.Join(b.Project, "README.md")
		inv := b.invoke(nil, []string{"/bin/sh", "-c", `echo sandbox > README.md; echo ready; sleep 2; exit 0`})
		_, stderr, done := startRun(t, inv, "ready")
		if err := os.WriteFile(readme, []byte("the user's edit\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var code int
		select {
		case err := <-done:
			code = exitCode(err)
		case <-time.After(30 * time.Second):
			t.Fatal("the run did not finish")
		}
		got, _ := os.ReadFile(readme)
		if string(got) != "the user's edit\n" {
			t.Errorf("the user's concurrent edit of README.md was overwritten (exit %d, README now %q)\n%s", code, got, stderr)
		}
		t.Logf("exit %d; stderr:\n%s", code, stderr)
	})
}

// serialized starts two runs that each append a start and an end line to log.txt
// around a sleep, and checks the log shows one whole run after the other.
func serialized(t *testing.T, b *box, a, c invocation) {
	t.Helper()
	results := make(chan result, 2)
	for _, inv := range []invocation{a, c} {
		go func() {
			r, err := inv.execE()
			if err != nil {
				r = result{Code: -1, Stderr: err.Error()}
			}
			results <- r
		}()
		time.Sleep(300 * time.Millisecond)
	}
	for i := 0; i < 2; i++ {
		wantCode(t, <-results, 0, "each of two concurrent runs")
	}
	got, _ := os.ReadFile(filepath.Join(b.Project, "log.txt"))
	lines := strings.Fields(string(got))
	ok := len(lines) == 4 && lines[0][:1] == lines[1][:1] && lines[2][:1] == lines[3][:1] && lines[0][:1] != lines[2][:1] &&
		strings.HasSuffix(lines[0], "-start") && strings.HasSuffix(lines[1], "-end")
	if !ok {
		t.Errorf("log.txt after two concurrent runs = %q; want one run's start/end then the other's (a lost or interleaved update means no lock)", lines)
	}
}

const logScript = `echo "$1-start" >> log.txt; sleep 2; echo "$1-end" >> log.txt`

// The lock belongs to the project, not to the spelling of its path: a run through
// a symlinked path must wait for a run through the real one.
func TestLockFollowsTheRealPath(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		link := filepath.Join(b.Home, "proj-link")
		if err := os.Symlink(filepath.Join("src", "proj"), link); err != nil {
			t.Fatal(err)
		}
		_ = os.Lchown(link, m.uid(), m.gid())
		viaLink := b.invoke([]string{"--project", link}, []string{"/bin/sh", "-c", logScript, "sh", "A"})
		viaLink.Dir = b.Home
		direct := b.invoke(nil, []string{"/bin/sh", "-c", logScript, "sh", "B"})
		serialized(t, b, viaLink, direct)
	})
}

// A tree deeper than PATH_MAX: the sync either brings all of it or nothing, and the
// host project stays intact when it cannot.
func TestDeepTreeIsAllOrNothing(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		before := treeHash(t, b.Project, true)
		r := b.sh(nil, `./attacks deep 2100 || exit 9; echo other > other.txt`)
		switch r.Code {
		case 0:
			out, err := exec.Command("find", b.Project, "-name", "f", "-type", "f").Output()
			if err != nil || strings.Count(string(out), "\n") != 1 {
				t.Errorf("exit 0 but the deep file is not on the host: %q %v", out, err)
			}
			if !pathExists(filepath.Join(b.Project, "other.txt")) {
				t.Errorf("exit 0 but other.txt is not on the host")
			}
		case 9:
			t.Fatalf("the tree could not even be made inside:\n%s", r)
		default:
			t.Logf("not synced (exit %d): %s", r.Code, lastLine(r.Stderr))
			assertSameTree(t, before, treeHash(t, b.Project, true), "a sync that could not complete")
		}
	})
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// Files CMD creates belong to the caller on the host, whatever uid they had inside.
func TestSyncedFilesBelongToTheCaller(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.sh(nil, `mkdir -p a/b && echo x > a/b/c && ln -s c a/b/l && chmod 700 a`)
		wantCode(t, r, 0, "creating files")
		for _, p := range []string{"a", "a/b", "a/b/c", "a/b/l"} {
			fi, err := os.Lstat(filepath.Join(b.Project, p))
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != m.uid() || int(st.Gid) != m.gid() {
				t.Errorf("%s owned by %d:%d on the host, want the caller %d:%d", p, st.Uid, st.Gid, m.uid(), m.gid())
			}
		}
	})
}
