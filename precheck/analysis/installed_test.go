package analysis

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstalledPackagesNoHigh reads the Python wheels and Ruby gems installed on
// this machine (real packages nobody here wrote; PyPI and rubygems.org are not
// reachable to download more) and requires that none gets a high finding. A
// wheel is rebuilt from its dist-info RECORD, so only the files it installed are
// read.
func TestInstalledPackagesNoHigh(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every installed wheel and gem")
	}
	home, _ := os.UserHomeDir()
	var distInfos []string
	for _, g := range []string{
		"/usr/lib/python3/dist-packages/*.dist-info",
		"/usr/local/lib/python3*/dist-packages/*.dist-info",
		filepath.Join(home, ".pyenv/versions/*/lib/python3*/site-packages/*.dist-info"),
	} {
		m, _ := filepath.Glob(g)
		distInfos = append(distInfos, m...)
	}
	var gems []string
	for _, g := range []string{"/usr/lib/ruby/gems/*/gems/*", "/var/lib/gems/*/gems/*"} {
		m, _ := filepath.Glob(g)
		gems = append(gems, m...)
	}
	if len(distInfos)+len(gems) == 0 {
		t.Skip("no installed Python or Ruby packages found")
	}
	check := func(eco, name, dir string) {
		fs, err := Dir(context.Background(), Package{eco, name, ""}, dir)
		if err != nil {
			t.Errorf("%s %s: %v", eco, name, err)
			return
		}
		for _, f := range fs {
			msg := eco + " " + name + ": " + f.Severity + " " + f.Rule + ": " + f.Summary + "\n\t" + strings.Join(f.Evidence, "\n\t")
			if f.Severity == High {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	wheels := 0
	for _, di := range distInfos {
		dir := t.TempDir()
		if err := wheelFromRecord(di, dir); err != nil {
			t.Logf("%s: %v", filepath.Base(di), err)
			continue
		}
		wheels++
		check("PyPI", strings.TrimSuffix(filepath.Base(di), ".dist-info"), dir)
	}
	for _, g := range gems {
		check("RubyGems", filepath.Base(g), g)
	}
	t.Logf("analysed %d installed wheels and %d gems", wheels, len(gems))
}

// wheelFromRecord copies the files a dist-info's RECORD lists (those inside
// site-packages) into dir.
func wheelFromRecord(distInfo, dir string) error {
	site := filepath.Dir(distInfo)
	f, err := os.Open(filepath.Join(distInfo, "RECORD"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rel, _, _ := strings.Cut(sc.Text(), ",")
		rel = strings.Trim(rel, `"`)
		if rel == "" || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) || strings.Contains(rel, "__pycache__") {
			continue
		}
		if ext := filepath.Ext(rel); ext != ".py" && ext != ".pth" && !strings.Contains(rel, ".dist-info/") {
			continue // data files: not read by the analysis, and botocore has 80 MB of them
		}
		if err := copyFile(filepath.Join(site, rel), filepath.Join(dir, rel)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return sc.Err()
}

func copyFile(from, to string) error {
	st, err := os.Lstat(from)
	if err != nil || !st.Mode().IsRegular() {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	defer out.Close()
	_, err = io.Copy(out, in)
	return err
}
