package analysis

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/precheck/lockfile"
)

func TestTyposquatTechniques(t *testing.T) {
	for _, c := range []struct {
		eco, name, target, technique string
	}{
		{"npm", "lodahs", "lodash", "two characters transposed"},
		{"npm", "expres", "express", "one character deleted"},
		{"npm", "expresss", "express", "one character inserted"},
		{"npm", "axioz", "axios", "keyboard-adjacent substitution"},
		{"npm", "l0dash", "lodash", "homoglyph"},
		{"npm", "rnocha", "mocha", "homoglyph"},
		{"npm", "react_dom", "react-dom", "separator or case confusion"},
		{"npm", "crossenv", "cross-env", "separator or case confusion"},
		{"npm", "React-Dom", "react-dom", "separator or case confusion"},
		{"npm", "@lodash/lodash", "lodash", "scope confusion"},
		{"npm", "node-types", "@types/node", "scope confusion"},
		{"npm", "babel-preset-envv", "", ""}, // not a popular target within reach: see below
		{"npm", "axios-js", "axios", "suffix js added"},
		{"npm", "@bable/core", "@babel/core", "two characters transposed"},
		{"npm", "@typescript-eslint/parsr", "@typescript-eslint/parser", "one character deleted"},
		{"npm", "chalk-cli", "chalk", "suffix cli added"},
		{"PyPI", "reqeusts", "requests", "two characters transposed"},
		{"PyPI", "python-dateutils", "python-dateutil", "one character inserted"},
		{"PyPI", "urlib3", "urllib3", "one character deleted"},
		{"PyPI", "numpy-python", "numpy", "suffix python added"},
		{"PyPI", "py-requests", "requests", "prefix py added"},
		{"crates.io", "serde_jsn", "serde_json", "one character deleted"},
		{"crates.io", "tokioo", "tokio", "one character inserted"},
		{"RubyGems", "rai1s", "rails", "homoglyph"},
		{"RubyGems", "nokogixi", "nokogiri", "one character substituted"},
	} {
		target, tech, ok := Typosquat(c.eco, c.name)
		if c.target == "" {
			continue
		}
		if !ok || normName(c.eco, target) != normName(c.eco, c.target) || !strings.HasPrefix(tech, c.technique) {
			t.Errorf("Typosquat(%s, %q) = %q, %q, %v; want %q, %q", c.eco, c.name, target, tech, ok, c.target, c.technique)
		}
	}
}

// The legitimate twins: popular names and their real relatives are not squats.
func TestTyposquatLegitimate(t *testing.T) {
	for _, c := range []struct{ eco, name string }{
		{"npm", "lodash"}, {"npm", "react"}, {"npm", "preact"}, {"npm", "@types/node"}, {"npm", "express"},
		{"npm", "esbuild"}, {"npm", "@esbuild/linux-x64"}, {"npm", "@swc/core"}, {"npm", "ab"}, {"npm", "my-own-app-utils"},
		{"npm", "@emotion/react"}, {"npm", "@testing-library/react"}, {"npm", "@sentry/node"},
		{"PyPI", "requests"}, {"PyPI", "Requests"}, {"PyPI", "python_dateutil"}, {"PyPI", "typing_extensions"},
		{"crates.io", "serde_json"}, {"crates.io", "serde-json"}, {"crates.io", "tokio"},
		{"RubyGems", "rails"}, {"RubyGems", "nokogiri"},
	} {
		if target, tech, ok := Typosquat(c.eco, c.name); ok {
			t.Errorf("Typosquat(%s, %q) = %q (%s); want no finding", c.eco, c.name, target, tech)
		}
	}
}

// Every package in the corpus's real lockfiles of well-known projects is taken as
// legitimate: what the check flags there is its false-alarm rate.
func TestTyposquatCorpusFalseAlarms(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpus/lockfiles/real/*")
	if len(files) == 0 {
		t.Skip("corpus not found at ../shared/corpus")
	}
	type key struct{ eco, name string }
	seen := map[key]bool{}
	byEco := map[string]int{}
	var flagged []string
	compared := 0 // names not on the list themselves: the ones the techniques were tried on
	for _, f := range files {
		pkgs, err := lockfile.Parse(f)
		if err != nil {
			t.Logf("%s: %v", filepath.Base(f), err)
			continue
		}
		for _, p := range pkgs {
			k := key{p.Ecosystem, p.Name}
			if _, ok := TopListFile(p.Ecosystem); seen[k] || !ok {
				continue
			}
			seen[k] = true
			byEco[p.Ecosystem]++
			if _, listed := EmbeddedTopLists().list(p.Ecosystem).rank[normName(p.Ecosystem, p.Name)]; !listed {
				compared++
			}
			if target, tech, ok := Typosquat(p.Ecosystem, p.Name); ok {
				flagged = append(flagged, p.Ecosystem+":"+p.Name+" -> "+target+" ("+tech+")")
			}
		}
	}
	sort.Strings(flagged)
	total := len(seen)
	rate := float64(len(flagged)) / float64(total)
	t.Logf("typosquat false alarms on the corpus: %d of %d names (%.2f%%; %d not on the lists and so compared), per ecosystem %v", len(flagged), total, 100*rate, compared, byEco)
	for _, f := range flagged {
		t.Log("  ", f)
	}
	if rate > 0.005 {
		t.Errorf("false-alarm rate %.2f%% over 0.5%%", 100*rate)
	}
}

// Names of real npm typosquatting packages: the 2017 "hacktask" set (mariadb
// left out: the name is the real MariaDB connector now), and later reports
// (electorn, loadyaml, lodashs, discordi.js, twilio-npm). How many the check
// names is its recall on names alone; most were found by people reading code.
var knownNPMSquats = []string{
	"babelcli", "cross-env.js", "crossenv", "d3.js", "fabric-js", "ffmepg", "gruntcli", "http-proxy.js",
	"jquery.js", "mongose", "mssql.js", "mssql-node", "mysqljs", "nodecaffe", "nodefabric", "node-fabric",
	"nodeffmpeg", "nodemailer-js", "nodemailer.js", "nodemssql", "node-opencv", "node-opensl", "node-openssl",
	"noderequest", "nodesass", "nodesqlite", "node-sqlite", "node-tkinter", "opencv.js", "openssl.js",
	"proxy.js", "shadowsock", "smb", "sqlite.js", "sqliter", "sqlserver", "tkinter",
	"electorn", "loadyaml", "lodashs", "discordi.js", "twilio-npm",
}

func TestTyposquatKnownAttacks(t *testing.T) {
	found := 0
	for _, n := range knownNPMSquats {
		if target, tech, ok := Typosquat("npm", n); ok {
			found++
			t.Logf("%-28s -> %s (%s)", n, target, tech)
		} else {
			t.Logf("%-28s not named", n)
		}
	}
	t.Logf("named %d of %d known npm typosquats (%.0f%%)", found, len(knownNPMSquats), 100*float64(found)/float64(len(knownNPMSquats)))
	if found*10 < len(knownNPMSquats)*6 {
		t.Errorf("named only %d of %d", found, len(knownNPMSquats))
	}
}
