package managers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// rustup's cargo and rustc are proxies that pick a toolchain per directory: a
// `+TOOLCHAIN` first argument, RUSTUP_TOOLCHAIN, a directory override of the user
// (`rustup override set`, in $RUSTUP_HOME/settings.toml), a rust-toolchain.toml or
// rust-toolchain file in the directory or a parent, the user's default. A toolchain
// file is project input, and `[toolchain] path = "./tc"` makes the proxy run the
// project's own cargo — in the resolve and download steps, with the network and
// the registry tokens. So phylum-box reads these files as data on the host, allows
// only a released channel that is installed, and pins the result with
// RUSTUP_TOOLCHAIN in every step (which also keeps a crate's own toolchain file, in
// `cargo install`'s unpacked source, from choosing).

// cargoChannelRE matches a released toolchain: stable, beta, nightly or a version,
// optionally dated and with a host triple.
var cargoChannelRE = lazyre.New(`^(stable|beta|nightly|[0-9]+\.[0-9]+(\.[0-9]+)?(-beta(\.[0-9]+)?)?)(-[0-9]{4}-[0-9]{2}-[0-9]{2})?(-[a-z0-9_]+(-[a-z0-9_.]+){1,3})?$`)

// rustupSettings is the part of $RUSTUP_HOME/settings.toml the plan reads.
type rustupSettings struct {
	DefaultToolchain string            `toml:"default_toolchain"`
	Overrides        map[string]string `toml:"overrides"`
}

// rustupHome is where rustup keeps toolchains and settings.
func rustupHome(env Env) string {
	if h := env.Getenv("RUSTUP_HOME"); h != "" {
		return h
	}
	return filepath.Join(env.Home, ".rustup")
}

// rustupProxies reports whether the cargo or rustc the steps will run is rustup's
// proxy (a link to the rustup binary).
func rustupProxies(env Env) bool {
	for _, tool := range []string{"cargo", "rustc"} {
		bin, err := env.LookPath(tool)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(bin)
		if err != nil {
			continue
		}
		if b := filepath.Base(real); b == "rustup" || b == "rustup-init" {
			return true
		}
	}
	return false
}

// cargoToolchain decides the RUSTUP_TOOLCHAIN every step gets ("" to leave rustup
// alone: the user chose with +TOOLCHAIN or RUSTUP_TOOLCHAIN, or rustup is not in
// use). It refuses a toolchain file that names anything but a released channel, and
// a channel rustup would have to install. note says where the choice came from.
func cargoToolchain(env Env, plusToolchain string) (pin, note string, err error) {
	return cargoToolchainChoice(env, plusToolchain, true)
}

// cargoToolchainChoice is cargoToolchain; needInstalled false skips the check
// that the channel is installed (a command on the host lets rustup install it).
func cargoToolchainChoice(env Env, plusToolchain string, needInstalled bool) (pin, note string, err error) {
	if plusToolchain != "" {
		return "", "cargo: toolchain " + plusToolchain + " from the command line", nil
	}
	if tc := env.Getenv("RUSTUP_TOOLCHAIN"); tc != "" {
		return "", "cargo: toolchain " + tc + " from RUSTUP_TOOLCHAIN", nil
	}
	proxied := rustupProxies(env)
	home := rustupHome(env)
	var settings rustupSettings
	if data, err := os.ReadFile(filepath.Join(home, "settings.toml")); err == nil {
		_, _ = toml.Decode(string(data), &settings) // unreadable: rustup's own problem
	}
	from := ""
	for d := env.Dir; ; d = filepath.Dir(d) {
		if ov, ok := settings.Overrides[d]; ok {
			pin, from = ov, "your directory override for "+d
			break
		}
		ch, file, err := cargoToolchainFile(d)
		if err != nil {
			return "", "", err
		}
		if ch != "" {
			pin, from = ch, file
			if needInstalled && proxied && !rustupInstalled(home, ch) {
				return "", "", &Refusal{Manager: "cargo",
					Reason: fmt.Sprintf("%s asks for toolchain %s, which is not installed (rustup would download it inside the sandbox)", file, ch),
					Advice: "install it first: rustup toolchain install " + ch}
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if !proxied {
		return "", "", nil
	}
	if pin == "" && settings.DefaultToolchain != "" {
		pin, from = settings.DefaultToolchain, "your rustup default"
	}
	if pin == "" {
		return "", "", nil
	}
	return pin, "cargo: RUSTUP_TOOLCHAIN=" + pin + " in every step (" + from + ")", nil
}

// rustupInstalled reports whether $RUSTUP_HOME/toolchains has channel (with or
// without its host triple).
func rustupInstalled(home, channel string) bool {
	entries, err := os.ReadDir(filepath.Join(home, "toolchains"))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() == channel || strings.HasPrefix(e.Name(), channel+"-") {
			return true
		}
	}
	return false
}

// cargoToolchainFile reads dir's rust-toolchain (checked first, as rustup does) or
// rust-toolchain.toml as data and returns its channel, or a *Refusal naming the
// file and line when it names a path or anything but a released channel.
func cargoToolchainFile(dir string) (channel, file string, err error) {
	for _, name := range []string{"rust-toolchain", "rust-toolchain.toml"} {
		p := filepath.Join(dir, name)
		data, err := readProjectFile(dir, p) // as itself: no link out of the project, no hard link
		if errors.Is(err, fs.ErrNotExist) || err != nil && isDirErr(p) {
			continue
		}
		if err != nil {
			var pe *ProjectFileError
			if errors.As(err, &pe) {
				return "", "", projectFileRefusal("cargo", dir, pe)
			}
			return "", "", fmt.Errorf("reading %s: %w (fix its permissions: rustup reads it)", p, err)
		}
		ch, line, why := parseToolchainFile(name, data)
		if why != "" {
			at := p
			if line > 0 {
				at = fmt.Sprintf("%s:%d", p, line)
			}
			return "", "", &Refusal{Manager: "cargo", Reason: at + ": " + why,
				Advice: "name a released channel there (channel = \"stable\" or a version such as \"1.95.0\"), or choose the toolchain yourself with `phylum-box cargo +TOOLCHAIN …` or RUSTUP_TOOLCHAIN"}
		}
		return ch, p, nil
	}
	return "", "", nil
}

func isDirErr(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// parseToolchainFile returns the channel of a toolchain file, or why it is refused
// and on which line (0 when unknown).
func parseToolchainFile(name string, data []byte) (channel string, line int, why string) {
	text := strings.TrimSpace(string(data))
	if name == "rust-toolchain" && !strings.ContainsAny(text, "[=\n") {
		// The legacy form: one line, the channel.
		if !cargoChannelRE().MatchString(text) {
			return "", 1, fmt.Sprintf("toolchain %q is not a released channel (a custom or linked toolchain runs programs the project chooses)", text)
		}
		return text, 0, ""
	}
	var f struct {
		Toolchain struct {
			Channel string `toml:"channel"`
			Path    string `toml:"path"`
		} `toml:"toolchain"`
	}
	if _, err := toml.Decode(string(data), &f); err != nil {
		return "", 0, "not valid TOML: " + err.Error()
	}
	lines := cargoKeyLines(data)
	if f.Toolchain.Path != "" {
		return "", lines["toolchain\x00path"], fmt.Sprintf("[toolchain] path = %q runs the project's own cargo and rustc, also in the steps that have the network and your registry tokens", f.Toolchain.Path)
	}
	if !cargoChannelRE().MatchString(f.Toolchain.Channel) {
		return "", lines["toolchain\x00channel"], fmt.Sprintf("[toolchain] channel = %q is not a released channel", f.Toolchain.Channel)
	}
	return f.Toolchain.Channel, 0, ""
}
