package managers

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestPnpmIgnoredBuildsNotice(t *testing.T) {
	many := make([]string, 25)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("pkg%d@1.0.0", i))
	}
	for _, tc := range []struct {
		name, modules string
		want          string // "" = no notice
	}{
		{"pnpm 10 writes JSON", `{"layoutVersion":5,"ignoredBuilds":["esbuild@0.21.5","@swc/core@1.3.0"]}`,
			`pnpm: Ignored build scripts: @swc/core@1.3.0, esbuild@0.21.5. Run "pnpm approve-builds"`},
		// As bare pnpm prints them: no peers' suffix, once each, sorted.
		{"peers' suffixes", `{"ignoredBuilds":["prisma@7.10.1(typescript@5.9.3)","@prisma/engines@7.10.1","prisma@7.10.1(typescript@5.8.0)"]}`,
			"Ignored build scripts: @prisma/engines@7.10.1, prisma@7.10.1. Run"},
		{"nested peers", `{"ignoredBuilds":["a@1.0.0(b@2.0.0(c@3.0.0))(d@4.0.0)"]}`, "Ignored build scripts: a@1.0.0. Run"},
		{"a patch hash is kept, the peers not", `{"ignoredBuilds":["a@1.0.0(patch_hash=abc)(b@2.0.0)"]}`, "Ignored build scripts: a@1.0.0(patch_hash=abc). Run"},
		{"YAML", "layoutVersion: 5\nignoredBuilds:\n  - esbuild@0.21.5\n", "Ignored build scripts: esbuild@0.21.5."},
		{"a tarball dependency", `{"ignoredBuilds":["pbox-x@file:vendor/pbox-x-1.0.0.tgz"]}`, "Ignored build scripts: pbox-x@file:vendor/pbox-x-1.0.0.tgz. Run"},
		{"nothing ignored", `{"ignoredBuilds":[]}`, ""},
		{"no such key", `{"layoutVersion":5}`, ""},
		{"not a modules file", `[[[`, ""},
		{"names a package could forge are left out", `{"ignoredBuilds":["esbuild@0.21.5","x\u001b[2J@1","a\nWARNING: fake@1","noversion","q\"uote@1","sp ace@1"]}`,
			"Ignored build scripts: esbuild@0.21.5. Run"},
		{"too big to be pnpm's", `{"ignoredBuilds":["esbuild@0.21.5"],"pad":"` + strings.Repeat("x", 17<<20) + `"}`, ""},
		{"YAML too big to parse", "ignoredBuilds:\n  - esbuild@0.21.5\n#" + strings.Repeat("x", 2<<20) + "\n", ""},
		{"a long list is cut", `{"ignoredBuilds":[` + strings.Join(many, ",") + `]}`, "pkg4@1.0.0 and 5 more. Run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func(rel string) ([]byte, error) {
				if rel != "node_modules/.modules.yaml" {
					return nil, fs.ErrNotExist
				}
				return []byte(tc.modules), nil
			}
			got := pnpmIgnoredBuildsNotice(read)
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("want no notice, got %q", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Errorf("notice %q, want one containing %q", got, tc.want)
			}
		})
	}
	if got := pnpmIgnoredBuildsNotice(func(string) ([]byte, error) { return nil, fs.ErrNotExist }); got != nil {
		t.Errorf("no modules file: %q", got)
	}
}

func TestPnpmWorkspaceStateSame(t *testing.T) {
	host := `{"lastValidatedTimestamp":1,"projects":{},"settings":{"dev":true,"nodeLinker":"isolated"},"filteredInstall":false}`
	for _, tc := range []struct {
		name, run string
		same      bool
	}{
		{"only the time stamp", `{"lastValidatedTimestamp":2,"projects":{},"settings":{"dev":true,"nodeLinker":"isolated"},"filteredInstall":false}`, true},
		{"key order and spacing", "{\n \"filteredInstall\": false, \"settings\": {\"nodeLinker\":\"isolated\",\"dev\":true}, \"projects\": {}, \"lastValidatedTimestamp\": 3}", true},
		{"a setting changed", `{"lastValidatedTimestamp":2,"projects":{},"settings":{"dev":false,"nodeLinker":"isolated"},"filteredInstall":false}`, false},
		{"a key added", `{"lastValidatedTimestamp":2,"projects":{},"pnpmfiles":[],"settings":{"dev":true,"nodeLinker":"isolated"},"filteredInstall":false}`, false},
		{"not JSON", `lastValidatedTimestamp: 2`, false},
	} {
		if got := pnpmWorkspaceStateSame([]byte(tc.run), []byte(host)); got != tc.same {
			t.Errorf("%s: same = %v, want %v", tc.name, got, tc.same)
		}
	}
}
