package managers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/phylum-box/phylum-box/internal/lazyre"
	"github.com/phylum-box/phylum-box/internal/redact"
	"github.com/phylum-box/phylum-box/precheck"
)

// pip's resolve runs package code (an sdist's metadata hook) and its report is
// therefore untrusted data: pipResolution parses it on the host, checks every
// download against the configured indexes (the file must be listed there for that
// name and version; the hash is the index's, never the report's) and hands the
// download step phylum-box's own fetch list, which the system python, isolated,
// fetches and checks by hash. Nothing the resolve step wrote reaches a later step.

// Where the download step finds its program and list, below the sandbox's $HOME.
const (
	pipFetchDir    = ".phylum-box-pip"
	pipFetchScript = pipFetchDir + "/fetch.py"
	pipFetchList   = pipFetchDir + "/fetch.json"
	pipFetchCert   = pipFetchDir + "/cert.pem"
)

// pipFetchItem is one file the download step fetches.
type pipFetchItem struct {
	Name   string            `json:"name"`
	URL    string            `json:"url"`
	File   string            `json:"file"`
	Hashes map[string]string `json:"hashes"` // alg → hex; one must match
	Auth   string            `json:"auth,omitempty"`
}

// pipReportDoc is the part of pip's installation report read here.
type pipReportDoc struct {
	Version string `json:"version"`
	Install []struct {
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
		IsDirect     bool `json:"is_direct"`
		Requested    bool `json:"requested"`
		DownloadInfo struct {
			URL         string          `json:"url"`
			VCSInfo     json.RawMessage `json:"vcs_info"`
			DirInfo     json.RawMessage `json:"dir_info"`
			ArchiveInfo *struct {
				Hash   string            `json:"hash"`
				Hashes map[string]string `json:"hashes"`
			} `json:"archive_info"`
		} `json:"download_info"`
	} `json:"install"`
}

var pipVersionRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,99}$`)

// pipResolver checks one resolve's report.
type pipResolver struct {
	src     *pipSources
	auth    pipAuth
	home    string // the user's home (the fetch files' place inside)
	plan    *Plan
	certPEM []byte // the user's pip cert (CA bundle), if any
	client  *http.Client
	pages   map[string][]pipLink
	mu      sync.Mutex // guards pages while prefetch runs
}

// pipLink is one file a simple-API page lists.
type pipLink struct {
	url, file string
	hashes    map[string]string
}

// maxPipReportItems bounds the distributions one report may name: each costs an
// index page read on the host.
const maxPipReportItems = 5000

// parsePipReportOutput finds the report in the resolve's standard output (pip
// prints nothing else there with --quiet; anything before the JSON is skipped).
func parsePipReportOutput(out []byte) (*pipReportDoc, error) {
	i := bytes.Index(out, []byte("{"))
	if i < 0 {
		return nil, errors.New("pip printed no installation report")
	}
	var doc pipReportDoc
	dec := json.NewDecoder(bytes.NewReader(out[i:]))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("pip's installation report does not parse: %w", err)
	}
	if doc.Install == nil {
		return nil, errors.New(`pip's installation report has no "install" list`)
	}
	if len(doc.Install) > maxPipReportItems {
		return nil, fmt.Errorf("pip's installation report names %d distributions, more than phylum-box checks (%d)", len(doc.Install), maxPipReportItems)
	}
	return &doc, nil
}

// resolve is Plan.Steps.ResolveOutput for pip.
func (pr *pipResolver) resolve(ctx context.Context, out []byte) ([]precheck.Package, error) {
	doc, err := parsePipReportOutput(out)
	if err != nil {
		return nil, &UnusableResult{err}
	}
	pr.prefetch(ctx, doc)
	var pkgs []precheck.Package
	// Never nil: an install of local directories alone fetches nothing, and the
	// fetch program needs a list ("null" made it fail on a TypeError).
	fetch := []pipFetchItem{}
	for i, it := range doc.Install {
		name, version := it.Metadata.Name, it.Metadata.Version
		if !pipNameRE().MatchString(name) || pipNameRE().FindString(name) != name || len(name) > 200 {
			return nil, &UnusableResult{fmt.Errorf("pip's report: install[%d] has no usable name (%q)", i, pipPrintable(name))}
		}
		if version != "" && !pipVersionRE().MatchString(version) {
			return nil, &UnusableResult{fmt.Errorf("pip's report: %s has no usable version (%q)", name, pipPrintable(version))}
		}
		p := precheck.Package{Ecosystem: precheck.PyPI, Name: name, Version: version, Source: pr.source(name)}
		di := it.DownloadInfo
		u := di.URL
		switch {
		case len(di.VCSInfo) > 0 && string(di.VCSInfo) != "null":
			p.Uncheckable, p.Reason = true, "VCS dependency ("+pipPrintable(u)+")"
		case len(di.DirInfo) > 0 && string(di.DirInfo) != "null":
			p.Uncheckable, p.Reason = true, "local directory ("+pipPrintable(u)+")"
		case di.ArchiveInfo == nil:
			p.Mismatch = "pip's report names no archive for it (" + pipPrintable(u) + ")"
		case strings.HasPrefix(u, "file:"):
			p.Uncheckable, p.Reason = true, "local file, not from an index ("+pipPrintable(u)+")"
		case !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://"):
			p.Mismatch = "pip's report names an unusable URL (" + pipPrintable(u) + ")"
		case version == "":
			p.Mismatch = "pip's report gives no version for " + pipPrintable(u)
		default:
			item, why := pr.check(ctx, name, version, u, it.IsDirect)
			if why != "" {
				p.Mismatch = why
				break
			}
			p.Resolved = item.URL
			if it.IsDirect {
				p.Uncheckable, p.Reason = true, "direct URL, not from an index ("+pipPrintable(item.URL)+")"
			}
			fetch = append(fetch, item)
		}
		pkgs = append(pkgs, p)
	}
	list, err := json.Marshal(fetch)
	if err != nil {
		return nil, err
	}
	if pr.plan.Sandbox.Credentials == nil {
		pr.plan.Sandbox.Credentials = &Credentials{}
	}
	files := []ConfigFile{{Home: pipFetchList, Secret: list}, {Home: pipFetchScript, Secret: []byte(pipFetchProgram)}}
	if pr.certPEM != nil {
		files = append(files, ConfigFile{Home: pipFetchCert, Secret: pr.certPEM})
	}
	pr.plan.Sandbox.Credentials.Files = append(pr.plan.Sandbox.Credentials.Files, files...)
	return pkgs, nil
}

// prefetch reads the index pages of the report's packages a few at a time (a
// large environment names hundreds).
func (pr *pipResolver) prefetch(ctx context.Context, doc *pipReportDoc) {
	var pages []string
	seen := map[string]bool{}
	for _, it := range doc.Install {
		if it.IsDirect || !pipNameRE().MatchString(it.Metadata.Name) {
			continue
		}
		for _, pg := range pr.pages4(it.Metadata.Name) {
			if !seen[pg] {
				seen[pg] = true
				pages = append(pages, pg)
			}
		}
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(8, len(pages)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pg := range work {
				_, _ = pr.page(ctx, pg)
			}
		}()
	}
	for _, pg := range pages {
		work <- pg
	}
	close(work)
	wg.Wait()
}

// source names where a project was asked for: the user's requirement line, or
// pip's resolution of the command.
func (pr *pipResolver) source(name string) string {
	if w, ok := pr.src.named[pipNormName(name)]; ok {
		return w
	}
	return "pip's resolution of the command"
}

// check finds url among the files the configured indexes list for name and
// version, and returns what to fetch, or why it may not be fetched.
func (pr *pipResolver) check(ctx context.Context, name, version, raw string, direct bool) (pipFetchItem, string) {
	key, _ := pipURLKey(raw)
	shown := pipPrintable(key)
	item := pipFetchItem{Name: name, URL: key, File: path.Base(pipURLPath(key)), Hashes: map[string]string{}}
	if !pipFileRE().MatchString(item.File) {
		return item, "its file name in " + shown + " is not a distribution's"
	}
	if direct {
		hs, ok := pr.src.direct[key]
		if !ok {
			return item, shown + " is not a URL your command line or requirements files name"
		}
		pr.addHashes(&item, hs)
		pr.addHashes(&item, pr.src.hashes[pipNormName(name)])
		if len(item.Hashes) == 0 {
			return item, "no hash for " + shown + ": add #sha256=… to the URL or --hash to its requirement"
		}
		item.Auth = pr.auth.header(key)
		return item, ""
	}
	if !pipFileIs(item.File, name, version) {
		return item, fmt.Sprintf("%s is not a file of %s %s", shown, name, version)
	}
	var looked []string
	for _, page := range pr.pages4(name) {
		looked = append(looked, pipPrintable(redact.URL(page)))
		links, err := pr.page(ctx, page)
		if err != nil {
			continue
		}
		for _, l := range links {
			if l.url != key {
				continue
			}
			for alg, v := range l.hashes {
				item.Hashes[alg] = v
			}
			pr.addHashes(&item, pr.src.hashes[pipNormName(name)])
			if len(item.Hashes) == 0 {
				return item, "the index gives no sha256 for " + shown + " (and no --hash pins it)"
			}
			item.Auth = pr.auth.header(key)
			return item, ""
		}
	}
	if len(looked) == 0 {
		return item, shown + " comes from no configured index (--no-index)"
	}
	return item, fmt.Sprintf("%s is not listed for %s on the configured index (%s)", shown, name, strings.Join(looked, ", "))
}

func (pr *pipResolver) addHashes(item *pipFetchItem, hs []string) {
	for _, h := range hs {
		if alg, v, ok := strings.Cut(h, ":"); ok && pipStrongHash[alg] {
			if _, have := item.Hashes[alg]; !have {
				item.Hashes[alg] = v
			}
		}
	}
}
