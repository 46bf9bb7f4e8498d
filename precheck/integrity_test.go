package precheck

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

const (
	isNumberSHA512 = "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng=="
	isNumberSHA1   = "sha1-dTU0W4lnNNX4DE0GxQlVUnoU8Ss="
	minimistSHA512 = "sha512-FM9nNUYrRBAELZQT3xeZQ7fmMOBg6nWNmJKTcgsJeaLstP/UODVpGsr5OhXhhXg6f+qtJ8uiZ+PUxkDWcgIXLw=="
)

func TestSameIntegrity(t *testing.T) {
	reg := isNumberSHA512 + " " + isNumberSHA1
	cases := []struct {
		lock             string
		same, comparable bool
	}{
		{isNumberSHA512, true, true},
		{isNumberSHA1, true, true},                         // old lockfiles pin the sha1 only
		{isNumberSHA512 + "?foo", true, true},              // SRI options
		{minimistSHA512, false, true},                      // another package's content
		{minimistSHA512 + " " + isNumberSHA1, false, true}, // the strongest shared hash decides
		{"sha256-abc", false, false},
		{"", false, false},
	}
	for _, tc := range cases {
		same, comparable := SameIntegrity(tc.lock, reg)
		if same != tc.same || comparable != tc.comparable {
			t.Errorf("SameIntegrity(%q) = %v, %v; want %v, %v", tc.lock, same, comparable, tc.same, tc.comparable)
		}
	}
}

func TestLockfileMismatchBlocks(t *testing.T) {
	smuggled := Package{Ecosystem: NPM, Name: "is-number", Version: "7.0.0", Source: "package-lock.json:11",
		Resolved: "https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz",
		Mismatch: "the lockfile entry is not what the registry serves as is-number@7.0.0: its URL … is not the registry tarball"}
	// No metadata: the mismatch is the lockfile reader's finding and needs none.
	v, err := (&Engine{DB: freshDB(nil), Now: now}).Evaluate(context.Background(), []Package{smuggled, clean})
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != Blocked || v.ExitCode() != 3 {
		t.Fatalf("result %s", v.Result)
	}
	r := find(v, "is-number")
	if !r.Blocked || !containsAny(r.Reasons, "lockfile mismatch: the lockfile entry is not what the registry serves as is-number@7.0.0") {
		t.Errorf("is-number = %+v", r)
	}
	if find(v, "left-pad").Blocked {
		t.Error("the clean package was blocked")
	}
}

func TestLockfileIntegrityAgainstRegistry(t *testing.T) {
	md := memMetadata{
		"is-number": {Integrity: isNumberSHA512 + " " + isNumberSHA1},
		"left-pad":  {}, // a registry that gives no hash: nothing to compare
	}
	pin := func(name, version, integrity string) Package {
		return Package{Ecosystem: NPM, Name: name, Version: version, Source: "package-lock.json:7", Integrity: integrity}
	}
	cases := []struct {
		name    string
		pkg     Package
		blocked bool
		warning string
	}{
		{"the registry's hash", pin("is-number", "7.0.0", isNumberSHA512), false, ""},
		{"the registry's sha1", pin("is-number", "7.0.0", isNumberSHA1), false, ""},
		{"another package's hash", pin("is-number", "7.0.0", minimistSHA512), true, ""},
		{"the registry gives none", pin("left-pad", "1.3.0", minimistSHA512), false, ""},
		{"no metadata", pin("chalk", "5.6.1", minimistSHA512), false,
			"chalk@5.6.1 (npm): the lockfile's hash was not compared with the registry's (registry returned 404); the package manager still verifies the download against the lockfile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := Engine{DB: freshDB(nil), Metadata: md, Now: now}
			v, err := e.Evaluate(context.Background(), []Package{tc.pkg})
			if err != nil {
				t.Fatal(err)
			}
			r := find(v, tc.pkg.Name)
			if r.Blocked != tc.blocked {
				t.Errorf("blocked = %v, reasons %q", r.Blocked, r.Reasons)
			}
			if tc.blocked && !containsAny(r.Reasons, "lockfile mismatch: the lockfile pins sha512-FM9nNUYrRBAELZQT3xeZQ7f… for is-number@7.0.0, but the registry's tarball of that version is sha512-41Cifkg6e8TylSpdtTpeLVM…") {
				t.Errorf("reasons = %q", r.Reasons)
			}
			if tc.warning != "" && !containsAny(v.Warnings, tc.warning) {
				t.Errorf("warnings = %q", v.Warnings)
			}
			if v.Result == Incomplete {
				t.Errorf("incomplete under uncheckable: warn: %q", v.Problems)
			}
		})
	}

	// Under uncheckable: fail a hash that could not be compared makes the verdict
	// incomplete, as any package that cannot be fully judged.
	e := Engine{DB: freshDB(nil), Policy: mustPolicy(t, "uncheckable: fail"), Metadata: md, Now: now}
	v, err := e.Evaluate(context.Background(), []Package{pin("chalk", "5.6.1", minimistSHA512)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != Incomplete || !containsAny(v.Problems, "was not compared with the registry's") {
		t.Errorf("result %s, problems %q", v.Result, v.Problems)
	}
}

// A registry outage gives one line, not one per package.
func TestLockfileIntegrityOutageIsOneLine(t *testing.T) {
	var pkgs []Package
	for i := range 12 {
		pkgs = append(pkgs, Package{Ecosystem: NPM, Name: fmt.Sprintf("p%02d", i), Version: "1.0.0", Integrity: isNumberSHA512})
	}
	e := Engine{DB: freshDB(nil), Metadata: memMetadata{}, Now: now}
	v, err := e.Evaluate(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range v.Warnings {
		if strings.Contains(w, "not compared") {
			n++
			if !strings.HasPrefix(w, "the lockfile's hashes of 12 packages were not compared with the registry's: p00@1.0.0 (npm)") {
				t.Errorf("warning = %q", w)
			}
		}
	}
	if n != 1 || v.Result != Pass {
		t.Errorf("result %s, warnings %q", v.Result, v.Warnings)
	}
}
