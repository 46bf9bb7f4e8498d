package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/phylum-box/phylum-box/precheck"
	"github.com/phylum-box/phylum-box/precheck/policy"
)

const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	dim    = "\x1b[2m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// maxNotChecked bounds the "Not checked" list in text output; a workspace can
// have hundreds of local packages. JSON always lists every package.
const maxNotChecked = 20

type painter bool

func (c painter) paint(code, s string) string {
	if !c {
		return s
	}
	return code + s + reset
}

// WriteText prints the packages that have something to say (findings, blocks,
// uncheckable entries) grouped by package, then problems, warnings and one summary
// line. Clean packages are only counted. Every string that came from a lockfile or
// an advisory is stripped of control characters so it cannot drive the terminal.
func WriteText(w io.Writer, v *precheck.Verdict, o Options) error {
	bw := bufio.NewWriter(w)
	c := painter(o.Color)
	var blocked, withFindings, unchecked, findings, ignored int
	var notChecked []precheck.PackageResult
	for _, p := range v.Packages {
		if p.Blocked {
			blocked++
		}
		if p.Unchecked {
			unchecked++
		}
		if len(p.Findings) > 0 {
			withFindings++
		}
		for _, f := range p.Findings {
			findings++
			if f.Ignored {
				ignored++
			}
		}
		switch {
		case len(p.Findings) > 0 || p.Blocked:
			writePackage(bw, c, p, o)
		case p.Unchecked && len(p.Reasons) > 0:
			notChecked = append(notChecked, p)
		}
	}
	if len(notChecked) > 0 {
		fmt.Fprintln(bw, c.paint(bold, fmt.Sprintf("Not checked (%d):", len(notChecked))))
		for i, p := range notChecked {
			if i == maxNotChecked && len(notChecked) > maxNotChecked+1 {
				fmt.Fprintf(bw, "  … and %d more (--format json lists every package)\n", len(notChecked)-i)
				break
			}
			line := "  " + c.paint(yellow, "?") + " " + oneLine(pkgLabel(p.Package), 200)
			if p.Source != "" {
				src, _ := relPath(o.BaseDir, p.Source)
				line += "  " + c.paint(dim, oneLine(src, 200))
			}
			fmt.Fprintf(bw, "%s — %s\n", line, oneLine(strings.Join(p.Reasons, "; "), 300))
		}
		fmt.Fprintln(bw)
	}
	if len(v.Problems) > 0 {
		fmt.Fprintln(bw, c.paint(bold, "The precheck could not decide:"))
		for _, s := range v.Problems {
			fmt.Fprintf(bw, "  %s %s\n", c.paint(red, "✗"), oneLine(s, 400))
		}
		fmt.Fprintln(bw)
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintln(bw, c.paint(bold, "Warnings:"))
		for _, s := range v.Warnings {
			fmt.Fprintf(bw, "  %s %s\n", c.paint(yellow, "!"), oneLine(s, 400))
		}
		fmt.Fprintln(bw)
	}

	n := len(v.Packages)
	var head, detail string
	switch v.Result {
	case precheck.Blocked:
		head = c.paint(red+bold, "blocked")
		detail = fmt.Sprintf("%d of %d %s blocked", blocked, n, plural(n, "package", "packages"))
	case precheck.Incomplete:
		head = c.paint(yellow+bold, "incomplete")
		detail = fmt.Sprintf("%d %s; the precheck could not decide (%d %s)", n, plural(n, "package", "packages"),
			len(v.Problems), plural(len(v.Problems), "problem", "problems"))
	default:
		head = c.paint(green+bold, "pass")
		detail = fmt.Sprintf("%d %s checked, nothing blocks", n, plural(n, "package", "packages"))
	}
	var extra []string
	if findings > 0 {
		extra = append(extra, fmt.Sprintf("%d %s in %d %s", findings, plural(findings, "finding", "findings"),
			withFindings, plural(withFindings, "package", "packages")))
	}
	if ignored > 0 {
		extra = append(extra, fmt.Sprintf("%d ignored by policy", ignored))
	}
	if unchecked > 0 {
		extra = append(extra, fmt.Sprintf("%d unchecked", unchecked))
	}
	if db := databaseLine(v); db != "" {
		extra = append(extra, db)
	}
	if len(extra) > 0 {
		detail += "; " + strings.Join(extra, "; ")
	}
	fmt.Fprintf(bw, "%s: %s\n", head, detail)
	return bw.Flush()
}

func writePackage(w io.Writer, c painter, p precheck.PackageResult, o Options) {
	status := ""
	switch {
	case p.Blocked:
		status = c.paint(red+bold, "BLOCKED")
	case p.Unchecked:
		status = c.paint(yellow, "UNCHECKED")
	default:
		status = c.paint(dim, "allowed")
	}
	line := fmt.Sprintf("%s %s", c.paint(bold, oneLine(pkgLabel(p.Package), 200)), status)
	if p.Source != "" {
		src, _ := relPath(o.BaseDir, p.Source)
		line += "  " + c.paint(dim, oneLine(src, 200))
	}
	if p.Unattributed {
		line += "  " + c.paint(dim, "(code that ran outside every package)")
	}
	fmt.Fprintln(w, line)
	for _, f := range p.Findings {
		if isDetection(f.Finding) {
			writeDetection(w, c, f)
			continue
		}
		mark, colour := "·", yellow
		switch {
		case f.Blocking:
			mark, colour = "✗", red
		case f.Ignored:
			mark, colour = "~", dim
		}
		kind := string(f.Kind)
		if f.Kind == precheck.Vulnerability {
			kind = f.Severity.String()
		}
		id := f.ID
		if len(f.Aliases) > 0 {
			id += " (" + strings.Join(f.Aliases, ", ") + ")"
		}
		fmt.Fprintf(w, "  %s %s  %s  %s\n", c.paint(colour, mark), c.paint(bold, oneLine(id, 120)),
			c.paint(colour, kind), oneLine(f.Summary, 100))
		fmt.Fprintf(w, "      %s\n", c.paint(dim, oneLine(f.Reason, 300)))
		if f.Blocking && f.Kind == precheck.Vulnerability {
			// What to do next: a fixed release, or the risk accepted in a policy.
			fmt.Fprintf(w, "      install a release the advisory lists as fixed, or to accept the risk add to the ignore list of the policy (%s, or your own %s):\n",
				policy.ProjectFile, "~/.config/phylum-box/policy.yaml")
			fmt.Fprintf(w, "        - %s\n", oneLine(precheck.IgnoreEntryWhy(p.Package, f.ID, "why the risk is accepted"), 400))
		}
	}
	// Package-level reasons that no finding carries (release age, uncheckable).
	for _, r := range p.Reasons {
		if !findingReason(p, r) {
			fmt.Fprintf(w, "  %s %s\n", c.paint(yellow, "·"), oneLine(r, 300))
		}
	}
	fmt.Fprintln(w)
}

func findingReason(p precheck.PackageResult, r string) bool {
	for _, f := range p.Findings {
		if f.Reason == r {
			return true
		}
	}
	return false
}

func databaseLine(v *precheck.Verdict) string {
	if !v.Database.Available {
		return "no database"
	}
	if v.Database.Updated.IsZero() {
		return ""
	}
	age := v.CheckedAt.Sub(v.Database.Updated)
	if age < 0 {
		age = 0
	}
	return "database updated " + ago(age)
}

func ago(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd ago", d/(24*time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh ago", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm ago", d/time.Minute)
	}
	return "just now"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
