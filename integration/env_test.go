package integration

import (
	"strings"
	"testing"
)

func TestEnvironmentIsScrubbed(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, m mode) {
		b := newBox(t, m)
		// Injection vectors the caller may have set: none is on the allowlist.
		inject := []string{"NODE_OPTIONS=--require=/pbox-it-inject.js", "BASH_ENV=/pbox-it-inject.sh", "PYTHONSTARTUP=/pbox-it-inject.py", "GIT_CONFIG_PARAMETERS='core.hooksPath=/pbox-it'"}
		inv := b.invoke(nil, []string{"./attacks", "env"})
		inv.Env = inject
		r := inv.exec(t)
		wantCode(t, r, 0, "printing the environment")
		env := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		for _, kv := range secretEnv {
			k, v, _ := strings.Cut(kv, "=")
			if _, ok := env[k]; ok {
				t.Errorf("%s reached CMD", k)
			}
			// By value too: a renamed copy is still a leak.
			if strings.Contains(r.Stdout, v) {
				t.Errorf("the value of %s reached CMD", k)
			}
		}
		for _, kv := range inject {
			if k, _, _ := strings.Cut(kv, "="); env[k] != "" {
				t.Errorf("%s reached CMD", k)
			}
		}
		if _, ok := env["SSH_AUTH_SOCK"]; ok {
			t.Errorf("SSH_AUTH_SOCK reached CMD (the caller's agent)")
		}
		if env["HOME"] != b.Home {
			t.Errorf("HOME inside = %q, want the caller's path %q", env["HOME"], b.Home)
		}
		if env["PATH"] == "" {
			t.Errorf("PATH is missing inside; a package manager needs it")
		}

		t.Run("pid 1's environment holds no secret either", func(t *testing.T) {
			r := b.attack(nil, "read", "/proc/1/environ")
			for _, kv := range secretEnv {
				if _, v, _ := strings.Cut(kv, "="); strings.Contains(r.Stdout, v) {
					t.Errorf("/proc/1/environ inside holds a secret:\n%s", r)
				}
			}
		})
		t.Run("twin: --keep-env passes a named variable", func(t *testing.T) {
			inv := b.invoke([]string{"--keep-env", "PBOX_IT_KEEP", "--keep-env", "NPM_TOKEN"}, []string{"./attacks", "env"})
			inv.Env = []string{"PBOX_IT_KEEP=kept value"}
			r := inv.exec(t)
			wantCode(t, r, 0, "printing the environment")
			if !strings.Contains(r.Stdout, "\nPBOX_IT_KEEP=kept value\n") && !strings.HasPrefix(r.Stdout, "PBOX_IT_KEEP=kept value\n") {
				t.Errorf("--keep-env PBOX_IT_KEEP did not pass it:\n%s", r)
			}
			if !strings.Contains(r.Stdout, "NPM_TOKEN=pbox-it-npm-token-Kx42") {
				t.Errorf("--keep-env NPM_TOKEN did not pass it:\n%s", r)
			}
			if strings.Contains(r.Stdout, "AWS_SECRET_ACCESS_KEY") {
				t.Errorf("keeping one variable let another secret through:\n%s", r)
			}
		})
	})
}
