package managers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A project config file is read as itself: a link out of the project (to a home
// file with a password) or a hard link is refused; a link inside is followed.
func TestProjectFileProblem(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, ".pypirc")
	writeFile(t, secret, "[pypi]\npassword = hunter2\n")
	writeFile(t, filepath.Join(root, "config", "rc"), "network-timeout 60000\n")
	writeFile(t, filepath.Join(root, "plain"), "x\n")
	link := func(target, name string) string {
		p := filepath.Join(root, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hard := filepath.Join(root, "hard")
	if err := os.Link(secret, hard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(root, "plain"), ""},
		{filepath.Join(root, "absent"), ""},
		{link("config/rc", "inside"), ""},
		{link(secret, "out-abs"), "symbolic link out of the project (to " + secret + ")"},
		{link("../"+filepath.Base(outside)+"/.pypirc", "out-rel"), "symbolic link out of the project"},
		{link("inside", "chain"), ""},
		{link("/nonexistent/x", "dangling"), "symbolic link out of the project"},
		{filepath.Join(root, "config"), "not a regular file"},
		{hard, "2 hard links"},
	} {
		got := projectFileProblem(root, tc.path)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", filepath.Base(tc.path), got, tc.want)
		}
	}
}

// yarn refuses a project .yarnrc or .yarnrc.yml that links to a home file (read on
// the host, it was rendered into the steps as the project's settings).
func TestYarnRCSymlinkedOut(t *testing.T) {
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "secrets"), "npmAuthToken: from-home\n")
	for _, tc := range []struct{ pm, rc string }{{"yarn@1.22.22", ".yarnrc"}, {"yarn@4.9.0", ".yarnrc.yml"}} {
		env := testEnv(t, map[string]string{"package.json": `{"name":"c","packageManager":"` + tc.pm + `"}`})
		if err := os.Symlink(filepath.Join(home, "secrets"), filepath.Join(env.Dir, tc.rc)); err != nil {
			t.Fatal(err)
		}
		_, err := planYarn(t, env, "install")
		wantYarnRefusal(t, err, tc.rc, "symbolic link out of the project")
	}
}
