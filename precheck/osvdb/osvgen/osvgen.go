package osvgen

import (
	"archive/zip"
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
)

// Options describes the export to generate.
type Options struct {
	// Records is the number of OSV records (zip entries).
	Records int
	// Seed makes the output reproducible.
	Seed uint64
	// MaliciousShare is the fraction of MAL- records (default 0.9, like npm).
	MaliciousShare float64
	// Popular names receive the GHSA advisories and some MAL versions-list records
	// (compromised releases of real packages), so a lookup of a real lockfile finds
	// some matches. Without them every name is synthetic.
	Popular []string
}

// WriteFile writes an npm all.zip to path.
func WriteFile(path string, o Options) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := Write(bw, o); err != nil {
		return err
	}
	return bw.Flush()
}

// Write writes an npm all.zip to w.
func Write(w io.Writer, o Options) error {
	if o.MaliciousShare == 0 {
		o.MaliciousShare = 0.9
	}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), o: o}
	zw := zip.NewWriter(w)
	for i := 0; i < o.Records; i++ {
		var rec map[string]any
		if g.r.Float64() < o.MaliciousShare {
			rec = g.mal(i)
		} else {
			rec = g.ghsa(i)
		}
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		fw, err := zw.Create(rec["id"].(string) + ".json")
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

type gen struct {
	r *rand.Rand
	o Options
}

var words = strings.Fields(`react vue angular node express lodash axios chalk debug color ansi regex
parse json yaml config env dot util utils helper helpers core cli tool tools plugin loader webpack
babel eslint prettier jest mocha test mock stream buffer crypto hash uuid id date time moment format
string array object deep merge clone path fs file glob watch server client http request fetch api sdk
auth token jwt session cookie cache redis mongo sql db orm model schema valid validator types typed
async promise event emitter queue worker thread pool logger log winston pino metrics trace discord
telegram bot wallet web3 ether solana bitcoin crypto-js tailwind css style sass less postcss icon ui`)

func (g *gen) pick(ss []string) string { return ss[g.r.IntN(len(ss))] }

func (g *gen) name(i int) string {
	var b strings.Builder
	if g.r.IntN(8) == 0 {
		fmt.Fprintf(&b, "@%s-%s/", g.pick(words), g.pick(words))
	}
	n := 1 + g.r.IntN(3)
	for j := 0; j < n; j++ {
		if j > 0 {
			b.WriteByte("-._"[g.r.IntN(3)])
		}
		b.WriteString(g.pick(words))
	}
	// Unique suffix: malicious names are nearly all distinct in the real feed.
	fmt.Fprintf(&b, "-%d", i)
	return b.String()
}

func (g *gen) version() string {
	v := fmt.Sprintf("%d.%d.%d", g.r.IntN(12), g.r.IntN(30), g.r.IntN(40))
	if g.r.IntN(10) == 0 {
		v += fmt.Sprintf("-beta.%d", g.r.IntN(5))
	}
	return v
}

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return hex.EncodeToString(b)
}

func (g *gen) ghsaID() string {
	const alpha = "23456789cfghjmpqrvwx"
	var b strings.Builder
	b.WriteString("GHSA")
	for i := 0; i < 3; i++ {
		b.WriteByte('-')
		for j := 0; j < 4; j++ {
			b.WriteByte(alpha[g.r.IntN(len(alpha))])
		}
	}
	return b.String()
}

func (g *gen) text(min, max int) string {
	n := min + g.r.IntN(max-min+1)
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.pick(words))
		if g.r.IntN(12) == 0 {
			b.WriteString(".\n\n")
		}
	}
	return b.String()
}

func (g *gen) date() string {
	return fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", 22+g.r.IntN(5), 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60))
}

var cwe506 = map[string]any{"cweId": "CWE-506", "description": "The product contains code that appears to be malicious in nature.", "name": "Embedded Malicious Code"}

func (g *gen) mal(i int) map[string]any {
	name := g.name(i)
	pkg := map[string]any{"ecosystem": "npm", "name": name}
	aff := map[string]any{"package": pkg}
	var versions []string
	switch {
	case len(g.o.Popular) > 0 && g.r.IntN(2000) == 0:
		// A compromised release of a real package (rare, like chalk/debug in 2025).
		pkg["name"] = g.pick(g.o.Popular)
		versions = []string{"999." + g.version()}
		aff["versions"] = versions
	case g.r.IntN(10) < 6:
		aff["ranges"] = []any{map[string]any{"type": "SEMVER", "events": []any{map[string]any{"introduced": "0"}}}}
	default:
		for k := 0; k < 1+g.r.IntN(3); k++ {
			versions = append(versions, g.version())
		}
		aff["versions"] = versions
	}
	ncwe := 1 + g.r.IntN(3)
	cwes := make([]any, ncwe)
	for k := range cwes {
		cwes[k] = cwe506
	}
	aff["database_specific"] = map[string]any{"cwes": cwes}
	ghsa := g.ghsaID()
	var origins []any
	for k := 0; k < 1+g.r.IntN(2); k++ {
		o := map[string]any{
			"source": []string{"ghsa-malware", "ossf-package-analysis", "socketdev", "phylum", "checkmarx"}[g.r.IntN(5)],
			"sha256": g.hex(32), "import_time": g.date(), "modified_time": g.date(),
		}
		if o["source"] == "ghsa-malware" {
			o["id"] = ghsa
		}
		if versions != nil {
			o["versions"] = versions
		} else {
			o["ranges"] = aff["ranges"]
		}
		origins = append(origins, o)
	}
	rec := map[string]any{
		"modified": g.date(), "published": g.date(), "schema_version": "1.5.0",
		"id":                fmt.Sprintf("MAL-%d-%d", 2022+g.r.IntN(5), i+1),
		"summary":           fmt.Sprintf("Malicious code in %s (npm)", pkg["name"]),
		"details":           "\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: ghsa-malware (" + g.hex(32) + ")\n" + g.text(40, 400),
		"affected":          []any{aff},
		"database_specific": map[string]any{"malicious-packages-origins": origins},
	}
	if g.r.IntN(2) == 0 {
		rec["aliases"] = []string{ghsa}
	}
	if g.r.IntN(3) == 0 {
		rec["credits"] = []any{map[string]any{"name": "Amazon Inspector", "type": "FINDER", "contact": []string{"actran@amazon.com"}}}
	}
	if g.r.IntN(2) == 0 {
		rec["references"] = []any{map[string]any{"type": "ADVISORY", "url": "https://github.com/advisories/" + ghsa}}
	}
	return rec
}

var vectors = []string{
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
	"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
	"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
}

func (g *gen) ghsa(i int) map[string]any {
	id := g.ghsaID()
	name := g.name(i)
	// A fifth of the advisories land on the popular names: ~5,000 for ~1,300
	// names, several per name, as for the real npm packages everyone depends on.
	if len(g.o.Popular) > 0 && g.r.IntN(5) == 0 {
		name = g.pick(g.o.Popular)
	}
	var affected []any
	for k := 0; k < 1+g.r.IntN(4); k++ {
		major := k + g.r.IntN(3)
		intro := "0"
		if k > 0 || g.r.IntN(3) == 0 {
			intro = fmt.Sprintf("%d.0.0", major)
		}
		affected = append(affected, map[string]any{
			"package": map[string]any{"ecosystem": "npm", "name": name},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{
				map[string]any{"introduced": intro},
				map[string]any{"fixed": fmt.Sprintf("%d.%d.%d", major, 1+g.r.IntN(20), g.r.IntN(10))},
			}}},
			"database_specific": map[string]any{"last_known_affected_version_range": "< " + g.version()},
		})
	}
	var refs []any
	for k := 0; k < 3+g.r.IntN(6); k++ {
		refs = append(refs, map[string]any{"type": "WEB", "url": "https://github.com/" + g.pick(words) + "/" + g.pick(words) + "/commit/" + g.hex(20)})
	}
	sev := []string{"LOW", "MODERATE", "HIGH", "CRITICAL"}[g.r.IntN(4)]
	return map[string]any{
		"schema_version": "1.4.0", "id": id, "modified": g.date(), "published": g.date(),
		"aliases":  []string{fmt.Sprintf("CVE-20%02d-%d", 15+g.r.IntN(11), 10000+g.r.IntN(50000))},
		"summary":  g.text(30, 90),
		"details":  g.text(400, 3000),
		"severity": []any{map[string]any{"type": "CVSS_V3", "score": g.pick(vectors)}},
		"affected": affected, "references": refs,
		"database_specific": map[string]any{"cwe_ids": []string{"CWE-1333"}, "severity": sev, "github_reviewed": true, "github_reviewed_at": g.date(), "nvd_published_at": g.date()},
	}
}
