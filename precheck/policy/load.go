package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ProjectFile is the policy file looked for in the project directory.
const ProjectFile = ".phylum-box.yaml"

// maxFileSize bounds what is read from a policy file: a policy is a few hundred
// bytes, and a hostile project could point the name at something huge.
const maxFileSize = 1 << 20

// Sources says where the layers come from.
type Sources struct {
	// UserFile is the user's policy; "" means UserPath(). A missing file is fine.
	UserFile string
	// NoUser skips the user's policy (tests, or a fully explicit --policy run).
	NoUser bool
	// ProjectDir is searched for ProjectFile (that directory only); "" skips it.
	ProjectDir string
	// File is an explicit --policy FILE; it must exist.
	File string
}

// UserPath is $XDG_CONFIG_HOME/phylum-box/policy.yaml, or ~/.config/... when unset.
func UserPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the user policy: %w (set XDG_CONFIG_HOME or HOME)", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "phylum-box", "policy.yaml"), nil
}

// Load merges defaults < user file < project file < explicit file.
func Load(src Sources) (*Policy, error) {
	p := Default()
	if !src.NoUser {
		path := src.UserFile
		if path == "" {
			var err error
			if path, err = UserPath(); err != nil {
				return nil, err
			}
		}
		if err := p.mergeFile(path, false, false); err != nil {
			return nil, err
		}
	}
	if src.ProjectDir != "" {
		if err := p.mergeFile(filepath.Join(src.ProjectDir, ProjectFile), false, true); err != nil {
			return nil, err
		}
	}
	if src.File != "" {
		if err := p.mergeFile(src.File, true, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Policy) mergeFile(path string, required, project bool) error {
	data, err := readFile(path, project)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return err
	}
	l, err := parseLayer(path, data)
	if err != nil {
		return err
	}
	p.apply(l, project)
	return nil
}

// readFile reads a policy file without following it into a FIFO or device: the
// open is non-blocking and anything but a regular file is refused. A project file
// must not be a symbolic link at all: the project is untrusted, and a link to
// ~/.aws/credentials would have its first line echoed in a parse error, into a CI
// log. The user's own files may be links (dotfile managers use them).
func readFile(path string, project bool) ([]byte, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if project {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if project && errors.Is(err, syscall.ELOOP) {
			return nil, &Error{File: path, Msg: "is a symbolic link; a project policy must be a regular file in the project (replace the link with the file, or pass it with --policy)"}
		}
		return nil, fmt.Errorf("read policy %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: path, Msg: "not a regular file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes; a policy file is a few lines of YAML", maxFileSize)}
	}
	return data, nil
}

// apply merges l over p key by key. For a project layer it records every loosening.
func (p *Policy) apply(l *layer, project bool) {
	p.Files = append(p.Files, l.file)
	weak := func(format string, args ...any) {
		if project {
			p.Weakened = append(p.Weakened, l.file+": "+fmt.Sprintf(format, args...))
		}
	}
	if v := l.malicious; v != nil {
		if p.Block.Malicious && !*v {
			weak("block.malicious: false turns off blocking of known malware")
		}
		p.Block.Malicious = *v
	}
	if v := l.vulnerability; v != nil {
		if loosensThreshold(p.Block.Vulnerability, *v) {
			weak("block.vulnerability: %s raises the blocking threshold from %s", *v, p.Block.Vulnerability)
		}
		p.Block.Vulnerability = *v
	}
	if v := l.minReleaseAge; v != nil {
		if *v < p.MinReleaseAge {
			weak("min_release_age: %s lowers it from %s", fmtDuration(*v), fmtDuration(p.MinReleaseAge))
		}
		p.MinReleaseAge = *v
	}
	prevScripts := p.Scripts
	if v := l.scripts; v != nil {
		if scriptsRank(*v) > scriptsRank(p.Scripts) {
			weak("scripts: %s lets more install scripts run than %s", *v, p.Scripts)
		}
		p.Scripts = *v
	}
	// Entries only loosen anything when an allowlist was already in force below.
	if len(l.allowScripts) > 0 && prevScripts == ScriptsAllowlist && p.Scripts == ScriptsAllowlist {
		weak("allow_scripts adds %s", strings.Join(l.allowScripts, ", "))
	}
	p.AllowScripts = append(p.AllowScripts, l.allowScripts...)
	for _, e := range l.scriptNetwork {
		weak("script_network gives the install script of %s network access to %s", e.Package, strings.Join(e.Hosts, ", "))
	}
	p.ScriptNetwork = append(p.ScriptNetwork, l.scriptNetwork...)
	if len(l.allowBins) > 0 {
		weak("allow_bins lets %s put commands such as node or git in node_modules/.bin", strings.Join(l.allowBins, ", "))
	}
	p.AllowBins = append(p.AllowBins, l.allowBins...)
	if len(l.keepEnv) > 0 {
		weak("keep_env passes %s from your environment to install scripts", strings.Join(l.keepEnv, ", "))
	}
	p.KeepEnv = append(p.KeepEnv, l.keepEnv...)
	for _, ig := range l.ignore {
		id := strings.ToUpper(ig.ID)
		switch {
		case strings.HasPrefix(id, "MAL-"):
			weak("ignores the malware advisory %s (%s)", ig.ID, ig.Reason)
		case strings.HasPrefix(id, BehaviourRulePrefix), strings.HasPrefix(id, AnalysisRulePrefix):
			weak("ignores the detection rule %s for %s (%s)", ig.ID, orEvery(ig.Package), ig.Reason)
		}
	}
	p.Ignore = append(p.Ignore, l.ignore...)
	if v := l.memory; v != nil {
		p.Limits.Memory = *v
	}
	if v := l.pids; v != nil {
		p.Limits.Pids = *v
	}
	if v := l.cpus; v != nil {
		p.Limits.CPUs = *v
	}
	if v := l.timeout; v != nil {
		p.Limits.Timeout = *v
	}
	if v := l.maxAge; v != nil {
		if *v > p.Database.MaxAge {
			weak("database.max_age: %s accepts an older database than %s", fmtDuration(*v), fmtDuration(p.Database.MaxAge))
		}
		p.Database.MaxAge = *v
	}
	if v := l.whenStale; v != nil {
		if p.Database.WhenStale == Fail && *v == Warn {
			weak("database.when_stale: warn installs even with a stale or missing database")
		}
		p.Database.WhenStale = *v
	}
	if v := l.uncheckable; v != nil {
		if p.Uncheckable == Fail && *v == Warn {
			weak("uncheckable: warn installs git, file and URL dependencies unchecked")
		}
		p.Uncheckable = *v
	}
	p.applyDetection(&l.detection, l.file, project)
}

func orEvery(pkg string) string {
	if pkg == "" {
		return "every package"
	}
	return pkg
}

func loosensThreshold(old, new Threshold) bool { return new.rank() > old.rank() }

func scriptsRank(m ScriptsMode) int {
	switch m {
	case ScriptsNone:
		return 0
	case ScriptsAllowlist:
		return 1
	}
	return 2
}

// fmtDuration prints whole days as "7d" and everything else the time package's way.
func fmtDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// FormatDuration prints a policy duration the way a user would write it.
func FormatDuration(d time.Duration) string { return fmtDuration(d) }
