package managers

import (
	"os"
	"slices"
	"testing"
)

func TestNpmOptionalFailed(t *testing.T) {
	// root → a (optional) → b (hard) → c (hard, also needed by d); root → d;
	// b also has its own nested e. x is optional but needed hard by root's y.
	lock := `{"packages": {
	  "": {"dependencies": {"d": "1", "y": "1"}, "optionalDependencies": {"a": "1"}},
	  "node_modules/a": {"optional": true, "dependencies": {"b": "1"}},
	  "node_modules/b": {"optional": true, "dependencies": {"c": "1", "e": "1", "f": "1"}},
	  "node_modules/b/node_modules/e": {"optional": true},
	  "node_modules/f": {"optional": true},
	  "node_modules/c": {},
	  "node_modules/d": {"dependencies": {"c": "1"}},
	  "node_modules/y": {"dependencies": {"x": "1"}},
	  "node_modules/x": {},
	  "node_modules/@s/o": {"optional": true},
	  "node_modules/g": {"optional": true, "dependencies": {"../src": "1"}},
	  "src": {"optional": true}
	}}`
	read := func(rel string) ([]byte, error) {
		if rel == "package-lock.json" {
			return []byte(lock), nil
		}
		return nil, os.ErrNotExist
	}
	out := func(p string) string {
		return "> " + p + " install\nnpm error code 1\nnpm error path /proj/" + p + "\nnpm error command failed\n"
	}
	tests := []struct {
		name, output, failed string
		remove, gone         []string
		ok                   bool
	}{
		{"a failing b takes a, its dependent, and e and f, only they need; not c, which d needs",
			out("node_modules/b"), "b", []string{"node_modules/a", "node_modules/b", "node_modules/b/node_modules/e", "node_modules/f"}, []string{"a", "b", "e", "f"}, true},
		{"nested", out("node_modules/b/node_modules/e"), "e",
			[]string{"node_modules/a", "node_modules/b", "node_modules/b/node_modules/e", "node_modules/f"}, []string{"a", "b", "e", "f"}, true},
		{"scoped", out("node_modules/@s/o"), "@s/o", []string{"node_modules/@s/o"}, []string{"@s/o"}, true},
		// A lockfile dependency named ../src resolves (path.Join) to the project's
		// src: nothing outside node_modules is ever removed.
		{"a dependency path leaving node_modules", out("node_modules/g"), "g", []string{"node_modules/g"}, []string{"g"}, true},
		{"not optional", out("node_modules/x"), "", nil, nil, false},
		{"not in the lockfile", out("node_modules/zz"), "", nil, nil, false},
		{"outside the project", "npm error path /other/node_modules/a\n", "", nil, nil, false},
		{"escapes the project", "npm error path /proj/node_modules/../../etc/a\n", "", nil, nil, false},
		{"no path line", "npm error code 1\n", "", nil, nil, false},
		// The last path line is npm's: a script printing another first changes nothing.
		{"last line wins", "npm error path /proj/node_modules/@s/o\n" + out("node_modules/x"), "", nil, nil, false},
		// npm's block with its log line after it, and a script's output before: npm's path.
		{"npm's block, log line last", "> o install\nnpm error path /proj/node_modules/x\nscript output\n" + out("node_modules/@s/o") +
			"npm error A complete log of this run can be found in: /home/u/.npm/_logs/x-debug-0.log\n\n", "@s/o", []string{"node_modules/@s/o"}, []string{"@s/o"}, true},
		{"ERR! form", "npm ERR! code 1\r\nnpm ERR! path /proj/node_modules/@s/o\r\nnpm ERR! command failed\r\n", "@s/o", []string{"node_modules/@s/o"}, []string{"@s/o"}, true},
		// A line a left-behind process prints after npm's block (or right before
		// it) is a second path line in the block: the failure of x stands.
		{"fake line after npm's block", out("node_modules/x") + "npm error path /proj/node_modules/@s/o\n", "", nil, nil, false},
		{"fake line just before npm's block", "> x install\nnpm error path /proj/node_modules/@s/o\nnpm error code 1\nnpm error path /proj/node_modules/x\nnpm error command failed\n", "", nil, nil, false},
		{"fake line after npm's block, same package", out("node_modules/@s/o") + "npm error path /proj/node_modules/@s/o\n", "", nil, nil, false},
		{"npm's block is not last", out("node_modules/@s/o") + "trailing output\n", "", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failed, remove, gone, ok := NpmOptionalFailed(tt.output, "/proj", read)
			slices.Sort(gone)
			if ok != tt.ok || failed != tt.failed || !slices.Equal(remove, tt.remove) || !slices.Equal(gone, tt.gone) {
				t.Errorf("= %q, %q, %q, %v; want %q, %q, %q, %v", failed, remove, gone, ok, tt.failed, tt.remove, tt.gone, tt.ok)
			}
		})
	}
}

func TestNpmRemovable(t *testing.T) {
	for k, want := range map[string]bool{
		"node_modules/a": true, "node_modules/@s/a": true, "node_modules/a/node_modules/b": true,
		"": false, "src": false, "node_modules": false, "node_modules/": false, "node_modules/../src": false,
		"node_modules/a/..": false, "node_modules/.bin": false, "/node_modules/a": false, "node_modules//a": false,
	} {
		if got := npmRemovable(k); got != want {
			t.Errorf("npmRemovable(%q) = %v", k, got)
		}
	}
}
