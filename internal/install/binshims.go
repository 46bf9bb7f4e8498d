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

func firstLine(data []byte) string {
	s := strings.TrimLeftFunc(string(data), func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
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
