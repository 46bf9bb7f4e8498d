package registry

import "testing"

func TestHistoryOf(t *testing.T) {
	all := map[string]Version{
		"1.0.0":        {},
		"1.2.0":        {},
		"1.10.0":       {InstallScripts: true},
		"1.9.9":        {},
		"2.0.0-beta.1": {InstallScripts: true},
		"2.0.0":        {InstallScripts: true},
	}
	cases := []struct {
		v    string
		want History
	}{
		// 1.10.0 comes after 1.9.9 (semver, not string order) and adds a script.
		{"1.10.0", History{Previous: "1.9.9", ScriptsAdded: true}},
		// 2.0.0's predecessor is its own beta, which already had the script.
		{"2.0.0", History{Previous: "2.0.0-beta.1"}},
		{"2.0.0-beta.1", History{Previous: "1.10.0"}},
		// No script: not placed.
		{"1.2.0", History{}},
	}
	for _, c := range cases {
		if got := historyOf(all, c.v); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.v, got, c.want)
		}
	}
	one := map[string]Version{"0.0.1": {InstallScripts: true}}
	if got := historyOf(one, "0.0.1"); got != (History{Only: true}) {
		t.Errorf("a package with one version: %+v", got)
	}
}
