package managers

import "strings"

// pip builds its User-Agent on every start (pip/_internal/network/session.py):
// `rustc --version` when a rustc is on PATH, and its vendored distro runs
// `lsb_release -a` and `uname -rs`. Measured on these machines, those programs
// cost about 0.13 s of CPU per pip start — a sixth of `pip install NAME`'s whole
// run — and they only describe the machine to the index. A pip run that
// installs wheels only (pip's one run) starts no other program, so its PATH may
// name none: pipNoProgramsPATH, a directory that does not exist (never an empty
// PATH, with which Python's shutil.which looks in the current directory, the
// project). pip then sends no rustc version and no lsb_release fields, and
// nothing else changes.
//
// The one program such a run may start is a `keyring` for index credentials
// (pip's KeyRingCliProvider). In the sandbox it finds none of your keyrings
// ($HOME is an empty tmpfs, there is no session bus), so by default PATH goes;
// when you asked for it by name (keyring-provider subprocess or auto, on the
// command line, in PIP_KEYRING_PROVIDER or a pip config file), PATH stays.
const pipNoProgramsPATH = "/nonexistent/phylum-box-no-programs"

// pipProbeFreePATH is the PATH= entry that keeps the one run's pip from starting
// its User-Agent probes, or "" when the user asked for a keyring program.
func pipProbeFreePATH(a *pipArgv, env Env, venv string) string {
	var asked []string
	if v, ok := a.last("keyring-provider"); ok {
		asked = append(asked, v)
	}
	if v, ok := env.LookupEnv("PIP_KEYRING_PROVIDER"); ok {
		asked = append(asked, v)
	}
	for _, f := range pipConfigFiles(env, venv) {
		for _, kv := range pipConfigValues(f) {
			if kv[0] == "keyring-provider" {
				asked = append(asked, kv[1])
			}
		}
	}
	for _, v := range asked {
		if v := strings.ToLower(strings.TrimSpace(v)); v == "subprocess" || v == "auto" {
			return ""
		}
	}
	return "PATH=" + pipNoProgramsPATH
}
