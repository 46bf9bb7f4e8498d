package install

import (
	"path"
	"strings"
	"unicode"
)

// pnpm's .bin shims: what program a shim runs, read line by line.

// shimRuntime is cmd-shim's searchScriptRuntime: the program and arguments of the
// file's #! line, else a program by extension ("" runs the file itself).
func shimRuntime(data []byte, target string) (prog, args string) {
	if m := shebangRE.FindStringSubmatch(firstLine(data)); m != nil {
		return m[1], m[2]
	}
	switch strings.ToLower(path.Ext(target)) {
	case ".js", ".cjs", ".mjs":
		return "node", ""
	case ".cmd", ".bat":
		return "cmd", "/C"
	case ".ps1":
		return "pwsh", ""
	case ".sh":
		return "sh", ""
	}
	return "", ""
}

// isShebangSpace: what firstLine skips before a file's first line.
func isShebangSpace(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }

func firstLine(data []byte) string {
	s := strings.TrimLeftFunc(string(data), isShebangSpace)
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimRight(s, "\r")
}

// shimBody is the end of generateShShim's output for a program and its arguments.
func shimBody(prog, args, target string) string {
	quoted := `"$basedir/` + target + `"`
	if prog == "" {
		return quoted + `   "$@"` + "\nexit $?\n"
	}
	long := `"$basedir/` + prog + `"`
	return "if [ -x " + long + " ]; then\n  exec " + long + " " + args + " " + quoted + ` "$@"` +
		"\nelse\n  exec " + prog + " " + args + " " + quoted + ` "$@"` + "\nfi\n"
}

// shimHead is how much of a bin's file readShebangLine reads first.
const shimHead = 8 << 10

// readShebangLine returns enough of the bin's file rel for shimRuntime and
// firstLine to give what they give for the whole file: the start of the file up to
// and including the newline that ends its first line (leading white space
// skipped, as firstLine does). A view that can read a file's head (rootfs.Scratch)
// reads shimHead bytes, and the whole file only when they hold no such newline;
// a pnpm shim's bin may be a 10 MB native binary (esbuild after its build), read
// for its first line once per .bin dir that links it.
func readShebangLine(view linkView, rel string) ([]byte, error) {
	hv, ok := view.(interface {
		ReadHead(rel string, n int) ([]byte, error)
	})
	if !ok {
		return view.ReadFile(rel)
	}
	head, err := hv.ReadHead(rel, shimHead)
	if err != nil {
		return nil, err
	}
	if len(head) < shimHead {
		return head, nil // the whole file
	}
	// A newline after the first character firstLine keeps ends the first line
	// within head: the rest of the file cannot change it.
	if strings.Contains(strings.TrimLeftFunc(string(head), isShebangSpace), "\n") {
		return head, nil
	}
	return view.ReadFile(rel)
}
