package managers

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Python interpreters that live under $HOME (pyenv, asdf, mise, uv, rye, conda):
// what the steps must see read-only to run a virtualenv made from one.

// pipHomeInterpreters are the layouts of Python installations under $HOME that a
// virtualenv's base interpreter may be in (relative to $HOME, "*" one name):
// pyenv, asdf, mise, uv, rye, conda and its relatives.
var pipHomeInterpreters = [][]string{
	{".pyenv", "versions", "*"},
	{".asdf", "installs", "python", "*"},
	{".local", "share", "mise", "installs", "python", "*"},
	{".local", "share", "uv", "python", "*"},
	{".rye", "py", "*"},
	{"miniconda3"}, {"anaconda3"}, {"miniforge3"}, {"mambaforge"}, {"micromamba"},
	{"miniconda3", "envs", "*"}, {"anaconda3", "envs", "*"}, {"miniforge3", "envs", "*"},
	{"mambaforge", "envs", "*"}, {"micromamba", "envs", "*"}, {".conda", "envs", "*"},
}

// pipInterpreterPaths is what the steps need to run the virtualenv's interpreter
// when it lives under $HOME, which the sandbox replaces with an empty tmpfs: that
// installation's directory (bound read-only), never more of $HOME. The path comes
// from the venv's python link, a project file, so only a directory of a known
// installation layout is accepted; any other place under $HOME is refused.
func pipInterpreterPaths(env Env, python string) ([]string, error) {
	real, err := filepath.EvalSymlinks(python)
	if err != nil {
		return nil, nil // pip fails on it itself, naming it
	}
	home := filepath.Clean(env.Home)
	if h, err := filepath.EvalSymlinks(home); err == nil {
		home = h
	}
	if !within(home, real) {
		return nil, nil
	}
	rel, _ := filepath.Rel(home, filepath.Dir(filepath.Dir(real))) // <install>/bin/python3.X
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, layout := range pipHomeInterpreters {
		if len(layout) != len(parts) {
			continue
		}
		ok := true
		for i, l := range layout {
			if parts[i] == "." || parts[i] == ".." || (l != "*" && l != parts[i]) {
				ok = false
			}
		}
		if ok && filepath.Base(filepath.Dir(real)) == "bin" {
			return []string{filepath.Join(home, rel)}, nil
		}
	}
	return nil, &Refusal{Manager: "pip", Reason: fmt.Sprintf("the virtualenv's interpreter %s lives in your home directory, which the sandbox hides, and is not in a Python installation phylum-box knows (pyenv, asdf, mise, uv, rye, conda)", real),
		Advice: "recreate the virtualenv with the system python3 or one of those (`python3 -m venv --clear .venv`)"}
}

// HomeInterpreter says what a virtualenv made from python needs (for `doctor`):
// "" when python is not under $HOME (nothing to bind), the installation dir the
// steps see read-only when it is in a known layout, or the refusal a pip install
// in such a virtualenv gets.
func HomeInterpreter(env Env, python string) (string, error) {
	dirs, err := pipInterpreterPaths(env, python)
	if err != nil || len(dirs) == 0 {
		return "", err
	}
	return dirs[0], nil
}
