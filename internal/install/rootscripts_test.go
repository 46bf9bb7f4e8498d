package install

import "testing"

func TestHooksPathOnly(t *testing.T) {
	host := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n[remote \"origin\"]\n\turl = https://example.com/x.git\n"
	husky := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\thooksPath = .husky/_\n[remote \"origin\"]\n\turl = https://example.com/x.git\n"
	for _, tc := range []struct {
		name, run, want string
	}{
		{"husky", husky, ".husky/_"},
		{"unchanged", host, ""},
		{"absolute", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\thooksPath = /tmp/h\n[remote \"origin\"]\n\turl = https://example.com/x.git\n", ""},
		{"outside", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\thooksPath = ../h\n[remote \"origin\"]\n\turl = https://example.com/x.git\n", ""},
		{"into .git", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\thooksPath = .git/x\n[remote \"origin\"]\n\turl = https://example.com/x.git\n", ""},
		{"another key too", husky + "[core]\n\tfsmonitor = sh -c evil\n", ""},
		{"remote changed", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\thooksPath = .husky/_\n[remote \"origin\"]\n\turl = https://evil.example/x.git\n", ""},
		{"shell in value", "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\thooksPath = $(id)\n[remote \"origin\"]\n\turl = https://example.com/x.git\n", ""},
	} {
		if got := hooksPathOnly([]byte(tc.run), []byte(host)); got != tc.want {
			t.Errorf("%s: hooksPathOnly = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{".husky/_": ".husky/_", "a b": "'a b'", "it's": `'it'\''s'`} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProjectValidateRefuses(t *testing.T) {
	r := &runner{project: &projectRun{git: []string{".git/hooks/pre-commit"}, policy: []string{".phylum-box.yaml"}}}
	got := r.projectValidate(nil)(nil, nil)
	if len(got) != 2 || got[0].Path != ".git/hooks/pre-commit" || got[1].Path != ".phylum-box.yaml" {
		t.Errorf("refusals %+v", got)
	}
	r = &runner{project: &projectRun{git: []string{".git/config"}, hooksPath: ".husky/_"}}
	if v := r.projectValidate(nil); v != nil {
		t.Errorf("husky's core.hooksPath alone stops the sync: %+v", v(nil, nil))
	}
}
