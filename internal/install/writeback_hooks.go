package install

// The directories git runs hooks from, which a write-back run may not write:
// .git/ is refused anyway, but core.hooksPath can name a directory of the work
// tree (husky's .husky/_, a team's .githooks), and a file added there runs on
// the host at the next commit.

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// gitHookDirs are the project-relative directories git runs hooks from: every
// core.hooksPath of the project's .git/config and of the user's git config
// that lies in the project, and .husky (husky points core.hooksPath there when
// its prepare script runs, which may be the very next install). The configs
// are read as data (hostProject: never through a link out of the project).
func gitHookDirs(root, home string) []string {
	dirs := []string{".husky"}
	var configs [][]byte
	if data, err := hostProject(root).ReadFile(".git/config"); err == nil {
		configs = append(configs, data)
	}
	for _, p := range []string{filepath.Join(home, ".gitconfig"), filepath.Join(home, ".config", "git", "config")} {
		if data, err := readSmall(p); err == nil {
			configs = append(configs, data)
		}
	}
	for _, c := range configs {
		for _, v := range hooksPaths(c) {
			if !filepath.IsAbs(v) {
				// Relative to the work tree's top, where git runs hooks.
				v = filepath.Join(root, v)
			}
			rel, err := filepath.Rel(root, filepath.Clean(v))
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				continue // outside the project: nothing a sync writes
			}
			if rel == "." {
				rel = "" // the whole work tree holds hooks: every write is refused
			}
			dirs = append(dirs, filepath.ToSlash(rel))
		}
	}
	return dirs
}

// hooksPaths reads every core.hooksPath value of a git config file: the key in
// a [core] section (names are case-insensitive), an optional quoted value.
func hooksPaths(data []byte) []string {
	var out []string
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				section = ""
				continue
			}
			section = strings.ToLower(strings.TrimSpace(strings.Fields(line[1:end] + " ")[0]))
			line = strings.TrimSpace(line[end+1:])
			if line == "" {
				continue
			}
		}
		if section != "core" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "hookspath") {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.IndexAny(v, "#;"); i >= 0 && !strings.HasPrefix(v, `"`) {
			v = strings.TrimSpace(v[:i])
		}
		v = strings.Trim(v, `"`)
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// underHookDir names the hook directory p is or lies below, "" if none.
func underHookDir(p string, dirs []string) string {
	for _, d := range dirs {
		if d == "" || p == d || strings.HasPrefix(p, d+"/") {
			if d == "" {
				return "the project itself"
			}
			return d
		}
	}
	return ""
}

// readSmall reads a file of the user's (their own git config), at most 1 MiB.
func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
