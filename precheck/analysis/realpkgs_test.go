package analysis

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phylum-box/phylum-box/precheck/lockfile"
)

// popularNative are popular npm packages with install scripts, native builds or
// downloaded binaries: the false alarms that matter are on these.
var popularNative = []string{
	"esbuild", "@esbuild/linux-x64", "@swc/core", "sharp", "bcrypt", "core-js", "core-js-pure", "husky",
	"protobufjs", "prisma", "@prisma/engines", "@prisma/client", "@parcel/watcher", "node-sass", "puppeteer",
	"cypress", "electron", "sqlite3", "canvas", "nodemon", "fsevents", "es5-ext", "msw", "@sentry/cli",
	"playwright", "playwright-core", "node-gyp", "bufferutil", "utf-8-validate", "cpu-features", "ssh2",
	"keytar", "better-sqlite3", "leveldown", "deasync", "re2", "argon2", "@grpc/grpc-js", "grpc-tools",
	"lmdb", "msgpackr-extract", "unrs-resolver", "@biomejs/biome", "lefthook", "nx", "turbo",
	"@tailwindcss/oxide", "@vscode/ripgrep", "chromedriver", "geckodriver", "node-pty", "zeromq",
	"dtrace-provider", "websocket", "@napi-rs/canvas", "@sentry/profiling-node", "spawn-sync", "nodegit",
	"phantomjs-prebuilt", "iltorb", "vue-demi", "@nestjs/core", "styled-components", "ngrok", "sodium-native",
	"typescript", "webpack", "axios", "lodash", "@babel/core", "pino", "@sentry/node", "ioredis", "ws",
}

// TestRealPackagesNoHigh downloads popular packages from the live npm registry
// (and the packages of a real application's lockfile from the corpus) and
// requires that none gets a high finding; medium and low ones are printed, they
// are the warnings a user would see. Downloads are cached in
// $TMPDIR/phylum-box-analysis-cache. PHYLUM_BOX_ANALYSIS_TREES=1 adds the whole
// trees of vite's and babel's lockfiles from the corpus (about 3000 packages).
func TestRealPackagesNoHigh(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads packages from registry.npmjs.org")
	}
	reg := newRegistry(t)
	specs := append([]string(nil), popularNative...)
	trees := []string{"npm-osv-scanner-fix-example.package-lock.json"}
	if os.Getenv("PHYLUM_BOX_ANALYSIS_TREES") != "" {
		// Whole dependency trees of real applications: a few thousand downloads.
		trees = append(trees, "vite.pnpm-lock.yaml", "babel.yarn.lock")
	}
	seen := map[string]bool{}
	for _, tree := range trees {
		pkgs, err := lockfile.Parse("../../../shared/corpus/lockfiles/real/" + tree)
		if err != nil {
			t.Logf("%s: %v", tree, err)
			continue
		}
		for _, p := range pkgs {
			if s := p.Name + "@" + p.Version; p.Ecosystem == "npm" && !p.Uncheckable && !seen[s] {
				seen[s] = true
				specs = append(specs, s)
			}
		}
	}
	type result struct {
		spec string
		fs   []Finding
		err  error
		dur  time.Duration
	}
	results := make([]result, len(specs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			dir, id, err := reg.unpacked(s)
			if err != nil {
				results[i] = result{spec: s, err: err}
				return
			}
			start := time.Now()
			name, version, _ := strings.Cut(id[1:], "@")
			name = id[:1] + name
			fs, err := Dir(context.Background(), Package{"npm", name, version}, dir)
			results[i] = result{id, fs, err, time.Since(start)}
		}()
	}
	wg.Wait()
	analysed, withFindings := 0, 0
	var total time.Duration
	for _, r := range results {
		if r.err != nil {
			t.Logf("%s: not analysed: %v", r.spec, r.err)
			continue
		}
		analysed++
		total += r.dur
		if r.dur > time.Second {
			t.Logf("%s: analysis took %v", r.spec, r.dur)
		}
		if len(r.fs) > 0 {
			withFindings++
		}
		for _, f := range r.fs {
			msg := fmt.Sprintf("%s: %s %s: %s\n\t%s", r.spec, f.Severity, f.Rule, f.Summary, strings.Join(f.Evidence, "\n\t"))
			if f.Severity == High {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	t.Logf("analysed %d packages in %v (%v each on average); %d with a medium or low finding", analysed, total, total/time.Duration(max(analysed, 1)), withFindings)
	if analysed < len(specs)*9/10 {
		t.Errorf("only %d of %d packages could be downloaded and analysed", analysed, len(specs))
	}
}

func BenchmarkDirEsbuild(b *testing.B)    { benchDir(b, "esbuild") }
func BenchmarkDirTypescript(b *testing.B) { benchDir(b, "typescript") }

func benchDir(b *testing.B, spec string) {
	dir, id, err := newRegistry(b).unpacked(spec)
	if err != nil {
		b.Skip(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Dir(context.Background(), Package{"npm", spec, id}, dir); err != nil {
			b.Fatal(err)
		}
	}
}

type registry struct {
	base, cache string
	client      *http.Client
}

func newRegistry(tb testing.TB) *registry {
	r := &registry{base: "https://registry.npmjs.org", cache: filepath.Join(os.TempDir(), "phylum-box-analysis-cache"),
		client: &http.Client{Timeout: 2 * time.Minute}}
	resp, err := r.client.Get(r.base + "/esbuild/latest")
	if err != nil {
		tb.Skipf("npm registry not reachable: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Skipf("npm registry not reachable: %s", resp.Status)
	}
	return r
}

// unpacked returns the unpacked package directory of NAME or NAME@VERSION and its
// NAME@VERSION.
func (r *registry) unpacked(spec string) (dir, id string, err error) {
	name, version := spec, "latest"
	if i := strings.LastIndex(spec, "@"); i > 0 {
		name, version = spec[:i], spec[i+1:]
	}
	resp, err := r.client.Get(r.base + "/" + name + "/" + version)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("%s: %s", spec, resp.Status)
	}
	var doc struct {
		Version string `json:"version"`
		Dist    struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", "", err
	}
	id = name + "@" + doc.Version
	dir = filepath.Join(r.cache, strings.ReplaceAll(id, "/", "+"))
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return dir, id, nil
	}
	tr, err := r.client.Get(doc.Dist.Tarball)
	if err != nil {
		return "", "", err
	}
	defer tr.Body.Close()
	data, err := io.ReadAll(io.LimitReader(tr.Body, 512<<20))
	if err != nil {
		return "", "", err
	}
	if want, ok := strings.CutPrefix(doc.Dist.Integrity, "sha512-"); ok {
		sum := sha512.Sum512(data)
		if base64.StdEncoding.EncodeToString(sum[:]) != want {
			return "", "", fmt.Errorf("%s: tarball does not match its integrity", id)
		}
	}
	os.RemoveAll(dir)
	if err := untar(data, dir); err != nil {
		return "", "", fmt.Errorf("%s: %w", id, err)
	}
	return dir, id, os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644)
}

// untar unpacks an npm tarball's regular files, dropping the top directory
// ("package/"), links and anything that would land outside dir.
func untar(data []byte, dir string) error {
	zr, err := gzip.NewReader(strings.NewReader(string(data)))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		_, rel, ok := strings.Cut(path.Clean(h.Name), "/")
		if !ok || rel == "" || strings.HasPrefix(rel, "../") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		f.Close()
		if err != nil {
			return err
		}
	}
}
