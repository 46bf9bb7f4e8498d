package behaviour

import (
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/phylum-box/phylum-box/container"
	"github.com/phylum-box/phylum-box/internal/lazyre"
)

// Rule ids: stable, what a policy's behaviour.rules and an ignore entry name.
const (
	RuleNetwork        = "PB-BEHAVIOUR-NETWORK"
	RuleSecretRead     = "PB-BEHAVIOUR-SECRET-READ"
	RulePersistence    = "PB-BEHAVIOUR-PERSISTENCE"
	RuleDownloadExec   = "PB-BEHAVIOUR-DOWNLOAD-EXEC"
	RuleDetach         = "PB-BEHAVIOUR-DETACH"
	RuleRefusedSyscall = "PB-BEHAVIOUR-REFUSED-SYSCALL"
	RuleCanary         = "PB-BEHAVIOUR-CANARY"
)

// Severities, as precheck spells them.
const (
	High   = "high"
	Medium = "medium"
	Low    = "low"
)

// hit is one rule firing on one event, before attribution and de-duplication.
type hit struct {
	rule, severity string
	// summary is the observation's one line, without the package ("tried to
	// reach 203.0.113.9:443").
	summary string
	// evidence is what was done ("connect 203.0.113.9:443"), prefixed later by
	// the process ("pid 42 node install.js: ").
	evidence string
	// proxy: the attempt went to phylum-box's egress proxy of the step.
	proxy bool
	// outlived: a process left running after its script (survivors.go).
	outlived bool
	// weight ranks hits of one rule and severity by how much their summary
	// tells: a DNS query's name (1) or data in it (2) over its bare address.
	weight int
}

// netHits are the network rules' hits for a connect, sendto or sendmsg. Unix
// sockets and netlink stay inside the container; loopback is the container's own
// (a fresh network namespace has nothing else), except port 53: a DNS query to the
// resolver resolv.conf names is the first step of reaching any host by name.
func netHits(ev container.SyscallEvent, pkg Package, fetcher string, proxies map[string]bool) []hit {
	addr := ev.Addr
	if addr == "" || strings.HasPrefix(addr, "unix:") || addr == "netlink" || strings.HasPrefix(addr, "family ") {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil
	}
	what := "tried to reach " + addr
	if proxies[canonAddr(addr)] {
		// phylum-box's egress proxy in a step that has one: the manager's way
		// out (the caller drops the manager's own connections), no package's.
		return []hit{{rule: RuleNetwork, severity: High,
			summary:  "tried to reach the network through phylum-box's egress proxy (" + addr + "), which is there for the package manager only",
			evidence: ev.Syscall + " " + addr + " (the egress proxy)", proxy: true}}
	}
	if (ip.IsLoopback() || ip.IsUnspecified()) && port != "53" {
		return nil
	}
	evidence := ev.Syscall + " " + addr
	if port == "53" {
		what = "tried to look a host name up (DNS to " + addr + ")"
		if ev.DNSName != "" {
			what = "tried to look up " + clip(ev.DNSName, 100) + " (DNS to " + addr + ")"
			evidence = "dns query " + clip(ev.DNSName, 260) + " " + ev.DNSType + " to " + addr + " (" + ev.Syscall + ")"
			if why := dnsExfil(ev.DNSName); why != "" {
				// Data in the name reaches whoever serves the domain, through
				// any resolver: the high signal whoever sends it.
				return []hit{{rule: RuleNetwork, severity: High, weight: 2,
					summary:  "sent data out in a DNS query name (" + why + ": " + clip(ev.DNSName, 100) + ") — DNS exfiltration; the build has no network, so it did not leave",
					evidence: evidence}}
			}
		}
	}
	h := hit{rule: RuleNetwork, severity: High, summary: what + " — the build has no network", evidence: evidence}
	if ev.DNSName != "" {
		h.weight = 1
	}
	if fetcher == "" && pkg.Ecosystem == "npm" && knownDownloaders[pkg.Name] {
		h.severity = Medium
		h.summary = what + " — its install script downloads a binary, as " + pkg.Name + " is known to; the build has no network, so the download failed"
	}
	if fetcher != "" && port == "53" {
		// Only its host-name lookup: a fetcher without network fails there, and
		// never reaches an address it had no name for.
		// A prebuilt-binary fetcher trying its download, then falling back to a
		// build from source (or failing): worth a warning, not a block.
		h.severity = Medium
		h.summary = what + " through " + fetcher + " (a prebuilt binary download; the build has no network, so it built from source or failed)"
	}
	return []hit{h}
}

// proxyEnv are the variables that name the egress proxy of a step that has one
// (see egress.ProxyEnv).
var proxyEnv = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}

// proxyAddrs are the loopback host:port the proxy variables of env name.
func proxyAddrs(env map[string]string) []string {
	var out []string
	for _, k := range proxyEnv {
		v := env[k]
		if v == "" {
			continue
		}
		if !strings.Contains(v, "://") {
			v = "http://" + v
		}
		u, err := url.Parse(v)
		if err != nil || u.Port() == "" {
			continue
		}
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			out = append(out, canonAddr(net.JoinHostPort(u.Hostname(), u.Port())))
		}
	}
	return out
}

// canonAddr spells a loopback host:port one way ("localhost" and 127.x as
// 127.0.0.1, ::1 as [::1]), so a proxy address matches a connect's.
func canonAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip4 := ip.To4(); ip4 != nil && ip4.IsLoopback() {
			host = "127.0.0.1"
		} else {
			host = ip.String()
		}
	}
	return net.JoinHostPort(host, port)
}

// downloadTools are programs whose one purpose is moving data over the network.
// None is needed by a build that has no network; a build's compilers, make,
// python, node, git (husky's `git config`), cmake and pkg-config are not here.
var downloadTools = map[string]bool{
	"curl": true, "wget": true, "nc": true, "ncat": true, "netcat": true, "socat": true,
	"telnet": true, "ftp": true, "tftp": true, "powershell": true, "pwsh": true,
	"powershell.exe": true, "pwsh.exe": true, "certutil.exe": true, "bitsadmin.exe": true,
}

var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ash": true, "ksh": true, "busybox": true}

// fetchAndRun are shell commands that run what they fetch or decode.
var fetchAndRun = []func() *regexp.Regexp{
	lazyre.New(`\b(curl|wget|fetch)\b[^|;&\n]*\|\s*(sudo\s+)?(env\s+\S*\s*)?(ba|da|z|k|a)?sh\b`),
	lazyre.New(`\b(curl|wget)\b[^|;&\n]*\|\s*(python[0-9.]*|node|perl|ruby|php)\b`),
	lazyre.New(`\bbase64\s+(-d|-D|--decode)\b[^|;&\n]*\|\s*(ba|da|z|k|a)?sh\b`),
	lazyre.New(`\bbase64\s+(-d|-D|--decode)\b[^|;&\n]*\|\s*(python[0-9.]*|node|perl|ruby)\b`),
	lazyre.New(`/dev/(tcp|udp)/`),
	lazyre.New(`\b(eval|source|\.)\s+["']?(<\()?\$?\(?\s*(curl|wget)\b`),
	lazyre.New(`\b(curl|wget)\b[^;|&\n]*\s-[a-zA-Z]*[oO]\s*\S+\s*(&&|;)\s*(chmod\s+[+0-9a-z]*x|(ba|da)?sh\s|\./)`),
}

// execHits are the rules of one execve/execveat.
func execHits(ev container.SyscallEvent, canary string) []hit {
	var out []hit
	prog := ev.Path
	if prog == "" && len(ev.Argv) > 0 {
		prog = ev.Argv[0]
	}
	base := path.Base(prog)
	cmd := shortArgv(ev.Argv)
	if downloadTools[strings.ToLower(base)] {
		out = append(out, hit{rule: RuleDownloadExec, severity: High,
			summary:  "ran " + base + ", a download tool, in a build that has no network",
			evidence: "exec " + cmd})
	} else if shells[base] {
		if script := unquoted(shellScript(ev.Argv)); script != "" {
			for _, re := range fetchAndRun {
				if m := re().FindString(script); m != "" {
					out = append(out, hit{rule: RuleDownloadExec, severity: High,
						summary:  "ran a shell command that fetches or decodes code and runs it (" + clip(m, 60) + ")",
						evidence: "exec " + cmd})
					break
				}
			}
		}
	}
	if canary != "" {
		for _, a := range ev.Argv {
			if strings.Contains(strings.ToLower(a), canary) {
				out = append(out, hit{rule: RuleCanary, severity: High,
					summary:  "passed the content of a decoy credential to a program (this run's canary token was in its arguments)",
					evidence: "exec " + cmd})
				break
			}
		}
	}
	return out
}

// shellScript is the script of `sh -c SCRIPT` (busybox sh -c too), "" otherwise.
func shellScript(argv []string) string {
	for i := 1; i < len(argv)-1; i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "c") {
			return argv[i+1]
		}
	}
	return ""
}

var (
	singleQuoted = lazyre.New(`'[^']*'`)
	doubleQuoted = lazyre.New(`"(?:[^"\\]|\\.)*"`)
)

// unquoted is a shell script without its quoted text: `echo 'curl … | sh'`
// prints an install hint, it runs nothing. Double-quoted text that substitutes a
// command ("$(curl …)") stays; a nested `sh -c '…'` is seen at its own exec.
func unquoted(script string) string {
	script = singleQuoted().ReplaceAllString(script, "''")
	return doubleQuoted().ReplaceAllStringFunc(script, func(q string) string {
		if strings.Contains(q, "$(") || strings.Contains(q, "`") {
			return q
		}
		return `""`
	})
}

// syscallHits are the rules of setsid and refused calls.
func syscallHits(ev container.SyscallEvent) []hit {
	switch {
	case ev.Refused:
		sev := Medium
		if escapeCalls[ev.Syscall] {
			sev = High
		}
		return []hit{{rule: RuleRefusedSyscall, severity: sev,
			summary:  "made a system call the sandbox refuses (" + ev.Syscall + ")",
			evidence: ev.Syscall + " refused"}}
	case ev.Syscall == "setsid":
		// A warning: yarn 1 starts every lifecycle script detached (setsid).
		return []hit{{rule: RuleDetach, severity: Medium,
			summary:  "started a process that detaches from the build (setsid), to outlive it",
			evidence: "setsid"}}
	}
	return nil
}

// touchHit is the rule of one decoy read or write.
func touchHit(t DecoyTouch) hit {
	if t.Secret {
		return hit{rule: RuleSecretRead, severity: High,
			summary:  "read " + t.Path + ", a credential file (a decoy phylum-box planted; a build has no reason to open it)",
			evidence: "opened " + t.Path} // a read is of a file opened after the watch began
	}
	op := "wrote"
	switch t.Op {
	case "created", "moved in":
		op = t.Op
	}
	return hit{rule: RulePersistence, severity: High,
		summary:  "wrote to " + t.Path + ", which would run code again after the install (a decoy; nothing reached your home)",
		evidence: op + " " + t.Path}
}

// fetchers are the helpers that download a package's prebuilt native binary at
// install and build it from source when the download fails (package → its bins):
// seen in a process's (or its parent's) command line as node_modules/<package>/
// or node_modules/.bin/<bin>.
var fetchers = map[string][]string{
	"prebuild-install":             {"prebuild-install"},
	"node-pre-gyp":                 {"node-pre-gyp"},
	"@mapbox/node-pre-gyp":         {"node-pre-gyp"},
	"install-artifact-from-github": {"install-from-cache", "save-to-github-cache"},
	// node-gyp downloads the Node.js headers (nodejs.org) before a build from
	// source when none are installed; offline it fails and so does the build
	// (measured: cpu-features 0.0.10, `node-gyp rebuild` after its buildcheck).
	"node-gyp": {"node-gyp"},
}

// fetcherIn names the fetcher a command line runs, "" if none: the program
// itself or the script node runs (argv[1]), never any other argument. The path is
// read cleaned: pnpm's .bin shims run a dependency's bin as
// `…/pkg/node_modules/.bin/../../../prebuild-install/bin.js`, and a path that only
// passes through a fetcher's directory (`…/prebuild-install/../x.js`) is not one.
func fetcherIn(argv []string) string {
	if len(argv) > 2 {
		argv = argv[:2]
	}
	for _, a := range argv {
		if strings.Contains(a, "/") {
			a = path.Clean(a)
		}
		for f, bins := range fetchers {
			if strings.Contains(a, "node_modules/"+f+"/") {
				return f
			}
			for _, b := range bins {
				if strings.HasSuffix(a, "node_modules/.bin/"+b) {
					return f
				}
			}
		}
	}
	return ""
}

// knownDownloaders are npm packages whose published install script downloads a
// binary (a browser, a driver, an engine) and has no offline fallback, measured
// under the monitor: their attempt is a warning — the build is offline, so the
// download fails (and the install with it, for most); a policy's script_network
// or behaviour.rules decides more. A hijacked release of one still gets a high
// observation for anything else it does (a secret read, a write to ~/.bashrc).
var knownDownloaders = map[string]bool{
	"prisma": true, "@prisma/engines": true, "puppeteer": true, "cypress": true, "electron": true,
	"chromedriver": true, "geckodriver": true, "ffmpeg-static": true, "@sentry/cli": true,
	"node-sass": true, "phantomjs-prebuilt": true, "playwright": true, "playwright-core": true,
}

// shortArgv is a command line for evidence: at most 8 arguments, 160 characters.
func shortArgv(argv []string) string {
	a := argv
	more := ""
	if len(a) > 8 {
		a, more = a[:8], " …"
	}
	return clip(strings.Join(a, " "), 160) + more
}

func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// escapeCalls are the refused calls that only a way out of the sandbox or into
// other processes needs: namespaces, mounts, tracing, kernel keys and programs,
// terminal input injection. The others refused (syslog for dmesg, clock and
// quota calls) are what ordinary tools probe (cypress's postinstall runs dmesg).
var escapeCalls = map[string]bool{
	"unshare": true, "clone": true, "setns": true,
	"mount": true, "umount": true, "umount2": true, "pivot_root": true, "chroot": true,
	"move_mount": true, "open_tree": true, "fsopen": true, "fsmount": true, "fsconfig": true, "fspick": true, "mount_setattr": true,
	"ptrace": true, "process_vm_writev": true,
	"keyctl": true, "add_key": true, "request_key": true,
	"bpf": true, "userfaultfd": true,
	"init_module": true, "finit_module": true, "delete_module": true, "kexec_load": true, "kexec_file_load": true,
	"open_by_handle_at": true, "ioctl": true,
}
