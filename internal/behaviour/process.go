package behaviour

import (
	"os"
	"path"
	"strconv"
	"strings"
)

// isManager reports whether argv is the package manager's own command line (or
// phylum-box's, the egress bridge): npm, yarn, pnpm and corepack, run directly or
// as node's script; pip (also its build-env runner) and poetry; cargo and rustc
// without a crate's environment; bundler and gem.
func isManager(eco string, argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	b0 := path.Base(argv[0])
	b1 := ""
	if len(argv) > 1 {
		b1 = path.Base(argv[1])
	}
	if b0 == "phylum-box" {
		return true
	}
	switch eco {
	case "npm":
		direct := map[string]bool{"npm": true, "npx": true, "yarn": true, "yarnpkg": true, "pnpm": true, "pnpx": true, "corepack": true}
		if direct[b0] {
			return true
		}
		script := map[string]bool{"npm-cli.js": true, "npx-cli.js": true, "yarn.js": true, "yarn.cjs": true,
			"pnpm.cjs": true, "pnpm.mjs": true, "corepack.cjs": true}
		return strings.HasPrefix(b0, "node") && (direct[b1] || script[b1] ||
			(strings.HasPrefix(b1, "yarn-") && strings.HasSuffix(b1, ".cjs")))
	case "PyPI":
		if b0 == "pip" || b0 == "poetry" || strings.HasPrefix(b0, "pip3") {
			return true
		}
		if strings.HasPrefix(b0, "python") && len(argv) > 1 {
			if argv[1] == "-m" && len(argv) > 2 && (argv[2] == "pip" || argv[2] == "poetry") {
				return true
			}
			return b1 == "pip" || strings.HasPrefix(b1, "pip3") || b1 == "poetry" || b1 == "__pip-runner__.py"
		}
	case "crates.io":
		return b0 == "cargo" || b0 == "rustc" || b0 == "rustup" || b0 == "rustdoc"
	case "RubyGems":
		if b0 == "bundle" || b0 == "bundler" || b0 == "gem" {
			return true
		}
		return strings.HasPrefix(b0, "ruby") && (b1 == "bundle" || b1 == "bundler" || b1 == "gem")
	}
	return false
}

// procReader reads what the host's /proc says of one process. Tests replace it.
type procReader interface {
	ppid() int
	alive() bool
	cmdline() []string
}

type hostProcess int

func hostProc(pid int) procReader { return hostProcess(pid) }

func (p hostProcess) ppid() int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(int(p)) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func (p hostProcess) alive() bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(int(p)))
	return err == nil
}

func (p hostProcess) cmdline() []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(int(p)) + "/cmdline")
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}
