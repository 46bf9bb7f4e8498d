package rootfs

import "testing"

func TestLinkOutAllowed(t *testing.T) {
	cs := &ChangeSet{project: "/home/u/src/app", linksOut: []string{"/home/u/src/lib"}}
	for _, tc := range []struct {
		link, target string
		want         bool
	}{
		{"node_modules/lib", "../../lib", true},
		{"node_modules/@s/lib", "../../../lib", true},
		{"node_modules/lib", "/home/u/src/lib", true},
		{"node_modules/lib", "../../lib/", true},
		{"node_modules/lib", "../../lib/sub", false},
		{"node_modules/lib", "../../other", false},
		{"node_modules/lib", "../x/../../lib", false}, // ".." after a name
		{"node_modules/lib", "../../../u/src/lib", false},
		{"node_modules/lib", "../../..", false},
		{"node_modules/lib", "", false},
	} {
		if got := cs.linkOutAllowed(tc.link, tc.target); got != tc.want {
			t.Errorf("%s -> %s: %v, want %v", tc.link, tc.target, got, tc.want)
		}
	}
	if (&ChangeSet{project: "/p"}).linkOutAllowed("node_modules/lib", "../../lib") {
		t.Error("no LinksOut allows nothing")
	}
}
