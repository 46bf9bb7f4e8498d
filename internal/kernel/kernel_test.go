package kernel

import "testing"

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		release      string
		major, minor int
		ok           bool
		older511     bool
	}{
		{"6.1.0-13-amd64", 6, 1, true, false},
		{"5.10.0-28-cloud-amd64", 5, 10, true, true},
		{"5.11.0", 5, 11, true, false},
		{"4.19.0", 4, 19, true, true},
		{"6.12-rc1", 6, 12, true, false},
		{"", 0, 0, false, false},
		{"linux", 0, 0, false, false},
	} {
		maj, mnr, ok := Version(tc.release)
		if maj != tc.major || mnr != tc.minor || ok != tc.ok {
			t.Errorf("Version(%q) = %d, %d, %v; want %d, %d, %v", tc.release, maj, mnr, ok, tc.major, tc.minor, tc.ok)
		}
		if got := Older(tc.release, 5, 11); got != tc.older511 {
			t.Errorf("Older(%q, 5, 11) = %v, want %v", tc.release, got, tc.older511)
		}
	}
}

func TestRunningKernel(t *testing.T) {
	rel := Release()
	maj, mnr, ok := Version(rel)
	if !ok {
		t.Fatalf("the running kernel's release %q does not parse", rel)
	}
	if !AtLeast(maj, mnr) || !AtLeast(maj-1, 0) {
		t.Errorf("AtLeast(%d, %d) on kernel %s is false", maj, mnr, rel)
	}
	if AtLeast(maj+1, 0) {
		t.Errorf("AtLeast(%d, 0) on kernel %s", maj+1, rel)
	}
}
