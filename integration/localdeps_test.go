package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Local dependencies outside the project (issue 11 item 3): a package beside the
// project, named on the command line or by the manifest, is visible read-only at
// its own path in the steps; a path that leads to a secret is refused before any
// step runs.

// localLib writes the npm package pbox-local-lib at dir.
func localLib(t testing.TB, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "package.json"), `{"name":"pbox-local-lib","version":"1.0.0","main":"index.js"}`+"\n", 0o644)
	writeFile(t, filepath.Join(dir, "index.js"), "module.exports = 'from-the-local-lib';\n", 0o644)
}

// nodeRequire runs node on the host in dir as the mode's user and returns what it prints.
func nodeRequire(t testing.TB, m mode, dir, pkg string) string {
	t.Helper()
	argv := []string{"node", "-e", "console.log(require(" + strconvQuote(pkg) + "))"}
	if m.rootless() && suite.isRoot {
		argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Errorf("node -e require(%q): %v\n%s", pkg, err, out)
	}
	return strings.TrimSpace(string(out))
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestLocalDepsNpmSibling: `npm install ../lib` (the advice phylum-box gives for
// `npm link`) and "file:../lib" in package.json install the sibling package (before:
// ENOENT, the directory was not in the sandbox); node requires it afterwards; the
// run says what it showed of the host; the sibling itself is not written.
func TestLocalDepsNpmSibling(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		lib := filepath.Join(filepath.Dir(b.Project), "lib")
		localLib(t, lib)
		chownTree(t, m, b.Home)
		libBefore := treeHash(t, lib, true)

		rep := b.reportPath("cli.json")
		r := b.tool(rep, "npm", "install", "../lib")
		wantCode(t, r, 0, "npm install ../lib")
		wantStderr(t, r, "visible read-only in the sandbox: "+lib)
		if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
			t.Errorf("node cannot require the local lib after the install: %q", got)
		}
		if target, err := os.Readlink(filepath.Join(b.Project, "node_modules", "pbox-local-lib")); err != nil || target != "../../lib" {
			t.Errorf("node_modules/pbox-local-lib: %q, %v; want a link to ../../lib as bare npm makes", target, err)
		}
		deps, _ := readJSONFile(t, filepath.Join(b.Project, "package.json"))["dependencies"].(map[string]any)
		if deps["pbox-local-lib"] != "file:../lib" {
			t.Errorf("package.json dependencies: %v", deps)
		}
		assertSameTree(t, libBefore, treeHash(t, lib, true), "the local lib")
		var hp struct {
			HostPaths []string `json:"host_paths_read_only"`
		}
		data, _ := os.ReadFile(rep)
		_ = json.Unmarshal(data, &hp)
		if !strings.Contains(strings.Join(hp.HostPaths, "\n"), lib) {
			t.Errorf("the report does not list %s among host_paths_read_only: %s", lib, data)
		}

		// The manifest alone, in a fresh checkout: npm install reads file:../lib.
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(filepath.Join(b.Project, "package-lock.json"))
		r = b.tool("", "npm", "install")
		wantCode(t, r, 0, "npm install with file:../lib in package.json")
		if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
			t.Errorf("node cannot require the local lib after the manifest's install: %q", got)
		}
		// And the committed lockfile, as npm ci reads it.
		if err := os.RemoveAll(filepath.Join(b.Project, "node_modules")); err != nil {
			t.Fatal(err)
		}
		r = b.tool("", "npm", "ci")
		wantCode(t, r, 0, "npm ci with ../lib in the lockfile")
		if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
			t.Errorf("node cannot require the local lib after npm ci: %q", got)
		}
	})
}

// TestLocalDepsNpmHostileManifest: a checkout whose package.json names the
// caller's ~/.ssh (planted with a key, and made to look like a package), the home
// itself, the root, or a symlink in the project leading to the home is refused
// with exit 2 before any step runs: no secret in any output, the project and the
// home as they were. Its twin, the same project naming a real sibling package,
// installs (TestLocalDepsNpmSibling).
func TestLocalDepsNpmHostileManifest(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		// A package.json in ~/.ssh, so that only the location gives it away.
		writeFile(t, filepath.Join(b.Home, ".ssh", "package.json"), `{"name":"keys","version":"1.0.0"}`, 0o644)
		if err := os.Symlink(b.Home, filepath.Join(b.Project, "vendor-lib")); err != nil {
			t.Fatal(err)
		}
		chownTree(t, m, b.Home)
		for _, tc := range []struct{ spec, why string }{
			{"file:../../.ssh", "hidden directory of your home"},
			{"file:" + filepath.Join(b.Home, ".ssh"), "hidden directory of your home"},
			{"file:~/", "your home directory"},
			{"link:/", "root directory"},
			{"file:vendor-lib", "symbolic link in the project"},
			{"file:vendor-lib/.ssh", "hidden directory"},
			{"file:..", "holds the project"},
		} {
			writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-it","version":"1.0.0","dependencies":{"x":"`+tc.spec+`"}}`+"\n", 0o644)
			chownTree(t, m, b.Project)
			before := projectState(t, b.Project)
			homeBefore := pmHomeHash(b)
			rep := b.reportPath("hostile.json")
			_ = os.Remove(rep)
			r := b.tool(rep, "npm", "install")
			wantCode(t, r, 2, "npm install with "+tc.spec)
			wantStderr(t, r, tc.why, "project file")
			if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
				t.Errorf("%s: a secret is in the output:\n%s", tc.spec, r)
			}
			if strings.Contains(r.Stderr, "resolving") {
				t.Errorf("%s: a step ran before the refusal:\n%s", tc.spec, r)
			}
			assertSameTree(t, before, projectState(t, b.Project), tc.spec)
			assertSameTree(t, homeBefore, pmHomeHash(b), tc.spec)
		}
		// The user cannot name the home's hidden dirs either.
		r := b.tool("", "npm", "install", "../../.ssh")
		wantCode(t, r, 2, "npm install ../../.ssh")
		wantStderr(t, r, "hidden directory of your home")
	})
}

// pboxLocalBackend is a PEP 517 backend (in the package's own tree) that writes
// nothing into the source directory: its wheel holds the package, its editable
// wheel a .pth naming the source directory.
const pboxLocalBackend = `import base64, hashlib, os, zipfile
NAME, VERSION = "pbox_locallib", "0.1.0"
DIST = NAME + "-" + VERSION + ".dist-info"
META = "Metadata-Version: 2.1\nName: " + NAME + "\nVersion: " + VERSION + "\n"
def get_requires_for_build_wheel(config_settings=None): return []
def get_requires_for_build_editable(config_settings=None): return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST)
    os.makedirs(d)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(META)
    return DIST
prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel
def _wheel(wheel_directory, files):
    name = NAME + "-" + VERSION + "-py3-none-any.whl"
    files = dict(files)
    files[DIST + "/METADATA"] = META
    files[DIST + "/WHEEL"] = "Wheel-Version: 1.0\nGenerator: pbox\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, c in files.items():
            data = c.encode()
            z.writestr(p, data)
            h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(p + ",sha256=" + h + "," + str(len(data)))
        record.append(DIST + "/RECORD,,")
        z.writestr(DIST + "/RECORD", "\n".join(record) + "\n")
    return name
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(os.getcwd(), NAME, "__init__.py")) as f:
        return _wheel(wheel_directory, {NAME + "/__init__.py": f.read()})
def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {NAME + ".pth": os.getcwd() + "\n"})
`

// TestLocalDepsPipSibling: `pip install -e ../pylib` and `pip install ../pylib`
// (no index) install the package beside the project, which python imports after;
// the package dir is not written. Its hostile twin: a requirements file in the
// project naming `-e ../../.ssh` (made to look like a package) is refused with
// exit 2 before any step, the venv as it was.
func TestLocalDepsPipSibling(t *testing.T) {
	t.Parallel()
	pyNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := pyProject(t, m)
		lib := filepath.Join(filepath.Dir(b.Project), "pylib")
		writeFile(t, filepath.Join(lib, "pyproject.toml"), "[build-system]\nrequires = []\nbuild-backend = \"pboxbackend\"\nbackend-path = [\"_backend\"]\n", 0o644)
		writeFile(t, filepath.Join(lib, "_backend", "pboxbackend.py"), pboxLocalBackend, 0o644)
		writeFile(t, filepath.Join(lib, "pbox_locallib", "__init__.py"), "VALUE = 'local'\n", 0o644)
		chownTree(t, m, b.Home)
		libBefore := treeHash(t, lib, true)

		r := b.pip(ix, db, "install", "--no-build-isolation", "--no-index", "-e", "../pylib")
		wantCode(t, r, 0, "pip install -e ../pylib")
		wantStderr(t, r, "visible read-only in the sandbox: "+lib)
		if got := pipVenvImport(t, b, "import pbox_locallib; print(pbox_locallib.VALUE)"); got != "local" {
			t.Errorf("the editable local package does not import: %q\n%s", got, r)
		}
		assertSameTree(t, libBefore, treeHash(t, lib, true), "the local package after -e")

		r = b.pip(ix, db, "install", "--no-build-isolation", "--no-index", "--force-reinstall", "../pylib")
		wantCode(t, r, 0, "pip install ../pylib")
		if got := pipVenvImport(t, b, "import pbox_locallib; print(pbox_locallib.__file__.startswith('"+b.Project+"'))"); got != "True" {
			t.Errorf("the local package is not installed into the venv: %q\n%s", got, r)
		}
		assertSameTree(t, libBefore, treeHash(t, lib, true), "the local package after install")

		// Hostile twin: the project's requirements file names ~/.ssh.
		writeFile(t, filepath.Join(b.Home, ".ssh", "setup.py"), "from setuptools import setup\nsetup(name='keys')\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "requirements.txt"), "-e ../../.ssh\n", 0o644)
		chownTree(t, m, b.Home)
		venvBefore := treeHash(t, filepath.Join(b.Project, ".venv"), true)
		r = b.pip(ix, db, "install", "--no-build-isolation", "--no-index", "-r", "requirements.txt")
		wantCode(t, r, 2, "a requirements file naming ~/.ssh")
		wantStderr(t, r, "requirements.txt", "hidden directory of your home")
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("a secret is in the output:\n%s", r)
		}
		assertSameTree(t, venvBefore, treeHash(t, filepath.Join(b.Project, ".venv"), true), "the venv after the refusal")
	})
}

// TestLocalDepsCargoPathCrates: a crate depending on ../pathlib, which depends on
// ../other in turn, builds and runs (both dirs bound read-only; cargo writes only
// the project's target/). Its hostile twin: a [patch] naming ~/.ssh (with a
// Cargo.toml planted there) is refused with exit 2, nothing built.
func TestLocalDepsCargoPathCrates(t *testing.T) {
	t.Parallel()
	cargoNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		db := regMalDB(t, m, "crates.io")
		b := regNewBox(t, m)
		src := filepath.Dir(b.Project)
		writeFile(t, filepath.Join(b.Project, "Cargo.toml"), "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\npathlib = { path = \"../pathlib\" }\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "src", "main.rs"), "fn main() { println!(\"{}\", pathlib::greet()); }\n", 0o644)
		writeFile(t, filepath.Join(src, "pathlib", "Cargo.toml"), "[package]\nname = \"pathlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nother = { path = \"../other\" }\n", 0o644)
		writeFile(t, filepath.Join(src, "pathlib", "src", "lib.rs"), "pub fn greet() -> String { format!(\"hello {}\", other::name()) }\n", 0o644)
		writeFile(t, filepath.Join(src, "other", "Cargo.toml"), "[package]\nname = \"other\"\nversion = \"0.1.0\"\nedition = \"2021\"\n", 0o644)
		writeFile(t, filepath.Join(src, "other", "src", "lib.rs"), "pub fn name() -> &'static str { \"path crates\" }\n", 0o644)
		chownTree(t, m, b.Home)
		libBefore := treeHash(t, filepath.Join(src, "pathlib"), true)

		r := b.cargo(db, "build")
		wantCode(t, r, 0, "cargo build with path crates beside the project")
		wantStderr(t, r, filepath.Join(src, "pathlib"), filepath.Join(src, "other"))
		out, err := exec.Command(filepath.Join(b.Project, "target", "debug", "proj")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello path crates" {
			t.Errorf("the built binary: %v %s\n%s", err, out, r)
		}
		assertSameTree(t, libBefore, treeHash(t, filepath.Join(src, "pathlib"), true), "the path crate")

		// Hostile twin: a [patch] to the home's ~/.ssh.
		writeFile(t, filepath.Join(b.Home, ".ssh", "Cargo.toml"), "[package]\nname = \"other\"\nversion = \"0.1.0\"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "Cargo.toml"), "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\npathlib = { path = \"../pathlib\" }\n\n[patch.crates-io]\nother = { path = \"../../.ssh\" }\n", 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r = b.cargo(db, "build")
		wantCode(t, r, 2, "a [patch] naming ~/.ssh")
		wantStderr(t, r, "Cargo.toml [patch.crates-io] other", "hidden directory of your home")
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("a secret is in the output:\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused build")
	})
}

// TestLocalDepsPnpmYarnLink: `pnpm add link:../lib`, pnpm's "file:../lib" in
// package.json and yarn classic's `yarn add link:../lib` install the sibling
// package, which node requires after (pnpm's and yarn's links to ../../lib are
// synced, being to a checked local dependency).
func TestLocalDepsPnpmYarnLink(t *testing.T) {
	t.Parallel()
	requireTool(t, "pnpm")
	requireTool(t, "yarn")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		lib := filepath.Join(filepath.Dir(b.Project), "lib")
		localLib(t, lib)
		chownTree(t, m, b.Home)
		reset := func(manifest string) {
			for _, p := range []string{"node_modules", "pnpm-lock.yaml", "yarn.lock", "package-lock.json"} {
				_ = os.RemoveAll(filepath.Join(b.Project, p))
			}
			writeFile(t, filepath.Join(b.Project, "package.json"), manifest, 0o644)
			chownTree(t, m, b.Project)
		}
		for _, tc := range []struct {
			name, manifest string
			args           []string
		}{
			{"pnpm add link:../lib", `{"name":"pbox-it","version":"1.0.0"}`, []string{"pnpm", "add", "link:../lib"}},
			{"pnpm install file:../lib", `{"name":"pbox-it","version":"1.0.0","dependencies":{"pbox-local-lib":"file:../lib"}}`, []string{"pnpm", "install"}},
			{"yarn add link:../lib", `{"name":"pbox-it","version":"1.0.0"}`, []string{"yarn", "add", "link:../lib"}},
		} {
			reset(tc.manifest)
			r := b.tool("", tc.args[0], tc.args[1:]...)
			wantCode(t, r, 0, tc.name)
			wantStderr(t, r, "visible read-only in the sandbox: "+lib)
			if got := nodeRequire(t, m, b.Project, "pbox-local-lib"); got != "from-the-local-lib" {
				t.Errorf("%s: node cannot require the local lib after the install: %q\n%s", tc.name, got, r)
			}
		}
	})
}

// TestLocalDepsPoetryPathDependency: `poetry lock` of a project with a path
// dependency beside it (`{ path = "../pylib", develop = true }`) reads that
// package (before: "Unable to determine package info", the directory was not in
// the sandbox) and locks it; a path dependency naming ~/.ssh is refused with
// exit 2, nothing locked.
func TestLocalDepsPoetryPathDependency(t *testing.T) {
	t.Parallel()
	poetryNeed(t)
	forEachMode(t, func(t *testing.T, m mode) {
		ix := pyGreetIndex(t)
		db := regMalDB(t, m, "PyPI")
		b := poetryProject(t, m, ix)
		lib := filepath.Join(filepath.Dir(b.Project), "pylib")
		// A Poetry project: Poetry reads its metadata without building it.
		writeFile(t, filepath.Join(lib, "pyproject.toml"), "[tool.poetry]\nname = \"pbox-locallib\"\nversion = \"0.1.0\"\ndescription = \"\"\n"+
			"authors = [\"pbox <pbox@example.invalid>\"]\npackages = [{ include = \"pbox_locallib\" }]\n\n[tool.poetry.dependencies]\npython = \"^3.9\"\n\n"+
			"[build-system]\nrequires = [\"poetry-core\"]\nbuild-backend = \"poetry.core.masonry.api\"\n", 0o644)
		writeFile(t, filepath.Join(lib, "pbox_locallib", "__init__.py"), "VALUE = 'local'\n", 0o644)
		py, err := os.ReadFile(filepath.Join(b.Project, "pyproject.toml"))
		if err != nil {
			t.Fatal(err)
		}
		withDep := strings.Replace(string(py), "python = \"^3.9\"\n", "python = \"^3.9\"\npbox-locallib = { path = \"../pylib\", develop = true }\n", 1)
		writeFile(t, filepath.Join(b.Project, "pyproject.toml"), withDep, 0o644)
		chownTree(t, m, b.Home)
		libBefore := treeHash(t, lib, true)
		r := b.poetry(db, "lock")
		wantCode(t, r, 0, "poetry lock with a path dependency beside the project")
		wantStderr(t, r, "visible read-only in the sandbox: "+lib)
		lock, err := os.ReadFile(filepath.Join(b.Project, "poetry.lock"))
		if err != nil || !strings.Contains(string(lock), "pbox-locallib") || !strings.Contains(string(lock), "../pylib") {
			t.Errorf("poetry.lock does not lock the path dependency: %v\n%s\n%s", err, lock, r)
		}
		assertSameTree(t, libBefore, treeHash(t, lib, true), "the path dependency")

		writeFile(t, filepath.Join(b.Home, ".ssh", "pyproject.toml"), "[tool.poetry]\nname = \"keys\"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, "pyproject.toml"), strings.Replace(withDep, "../pylib", "../../.ssh", 1), 0o644)
		chownTree(t, m, b.Home)
		before := treeHash(t, b.Project, true)
		r = b.poetry(db, "lock")
		wantCode(t, r, 2, "a path dependency naming ~/.ssh")
		wantStderr(t, r, "pyproject.toml [tool.poetry.dependencies] pbox-locallib", "hidden directory of your home")
		if strings.Contains(r.Stdout+r.Stderr, b.Mark) {
			t.Errorf("a secret is in the output:\n%s", r)
		}
		assertSameTree(t, before, treeHash(t, b.Project, true), "a refused lock")
	})
}

// TestLocalDepsNpmUncheckablePolicy: the package beside the project is precheck'd
// as what it is, a local directory dependency nobody can look up: listed as
// uncheckable in the report, and under the project policy's `uncheckable: fail`
// nothing is installed.
func TestLocalDepsNpmUncheckablePolicy(t *testing.T) {
	t.Parallel()
	requireTool(t, "npm")
	forEachMode(t, func(t *testing.T, m mode) {
		b := newPMBox(t, m)
		lib := filepath.Join(filepath.Dir(b.Project), "lib")
		localLib(t, lib)
		chownTree(t, m, b.Home)
		rep := b.reportPath("warn.json")
		r := b.tool(rep, "npm", "install", "../lib")
		wantCode(t, r, 0, "npm install ../lib")
		found := false
		if pr := readPMReport(t, rep); pr.Precheck != nil {
			for _, p := range pr.Precheck.Packages {
				found = found || p.Name == "pbox-local-lib" && p.Uncheckable
			}
		}
		if !found {
			t.Errorf("the report does not list pbox-local-lib as uncheckable:\n%s", r)
		}

		for _, p := range []string{"node_modules", "package-lock.json"} {
			_ = os.RemoveAll(filepath.Join(b.Project, p))
		}
		writeFile(t, filepath.Join(b.Project, "package.json"), `{"name":"pbox-it","version":"1.0.0"}`+"\n", 0o644)
		writeFile(t, filepath.Join(b.Project, ".phylum-box.yaml"), "uncheckable: fail\n", 0o644)
		chownTree(t, m, b.Project)
		before := projectState(t, b.Project)
		r = b.tool("", "npm", "install", "../lib")
		if r.Code == 0 {
			t.Fatalf("uncheckable: fail installed the local directory dependency:\n%s", r)
		}
		wantStderr(t, r, "pbox-local-lib")
		assertSameTree(t, before, projectState(t, b.Project), "a refused local dependency")
	})
}
