package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// cliLock writes a package-lock.json pinning chalk@5.6.1 (MAL-2025-46969 in the
// corpus) into a project owned by the mode's user.
func cliLock(t *testing.T, m mode) string {
	t.Helper()
	proj := filepath.Join(newScratch(t), "proj")
	mkdirOwned(t, m, proj, 0o755)
	writeFile(t, filepath.Join(proj, "package-lock.json"), `{"name": "proj", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "proj", "version": "1.0.0"},
    "node_modules/chalk": {"version": "5.6.1", "resolved": "https://registry.npmjs.org/chalk/-/chalk-5.6.1.tgz"}}}
`, 0o644)
	chownTree(t, m, proj)
	return proj
}

// TestGlobalFlagsAnyPosition: --config, --db, -v and --format mean the same before
// and after the command. `check --config FILE` ignored FILE (the config was read
// while the flags were being defined) and checked against the default database;
// `--db PATH db status` was an unknown flag. The twin without --config shows the
// config is what decides: no database there, the precheck is incomplete (exit 5).
func TestGlobalFlagsAnyPosition(t *testing.T) {
	t.Parallel()
	db := sdDatabase(t)
	forEachMode(t, func(t *testing.T, m mode) {
		proj := cliLock(t, m)
		home := newHome(t, m)
		cfg := filepath.Join(home, "other-config.yaml")
		writeFile(t, cfg, "database: {path: "+db+"}\n", 0o600)
		chownTree(t, m, home)
		run := func(args ...string) result {
			return invocation{Mode: m, Args: args, Dir: proj, Home: home}.exec(t)
		}

		// Legitimate twin first: without the config, the default database is missing.
		r := run("check")
		wantCode(t, r, 5, "check without --config: no database at the default path")

		for _, args := range [][]string{
			{"check", "--config", cfg},
			{"--config", cfg, "check"},
			{"check", "--db", db},
			{"--db", db, "check"},
			{"check", "--db=" + db, "."},
		} {
			r := run(args...)
			wantCode(t, r, 3, strings.Join(args, " ")+": chalk@5.6.1 is blocked by the configured database")
			if !strings.Contains(r.Stdout, "chalk@5.6.1") {
				t.Errorf("%q: the report does not name chalk@5.6.1:\n%s", args, r)
			}
		}
		for _, args := range [][]string{
			{"check", "-v", "--config", cfg, "--format", "json"},
			{"-v", "--format", "json", "--config", cfg, "check"},
		} {
			r := run(args...)
			wantCode(t, r, 3, strings.Join(args, " "))
			if !strings.Contains(r.Stdout, `"verdict": "blocked"`) || !strings.Contains(r.Stderr, "check: 1 packages from") {
				t.Errorf("%q: want the JSON report and -v's debug lines:\n%s", args, r)
			}
		}
		for _, args := range [][]string{
			{"--db", db, "db", "status", "--format", "json"},
			{"db", "status", "--format", "json", "--db", db},
			{"--format", "json", "db", "--config", cfg, "status"},
		} {
			r := run(args...)
			wantCode(t, r, 0, strings.Join(args, " "))
			if !strings.Contains(r.Stdout, `"path": "`+db+`"`) {
				t.Errorf("%q: db status is not about %s:\n%s", args, db, r)
			}
		}
		// A --config that does not exist is a usage error wherever it is written.
		for _, args := range [][]string{{"check", "--config", cfg + ".missing"}, {"--config", cfg + ".missing", "check"}} {
			r := run(args...)
			wantCode(t, r, 2, strings.Join(args, " "))
			wantStderr(t, r, "does not exist")
		}
	})
}
