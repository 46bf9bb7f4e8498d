package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRunTrue measures a container's start and teardown around /bin/true,
// against a bare exec and unshare(1) building comparable namespaces. The goal is
// ≤ 30 ms per run. Rootless rows include setpriv's own exec (a fraction of a ms; see
// the bare/rootless row).
func BenchmarkRunTrue(b *testing.B) {
	for _, name := range []string{"root", "rootless"} {
		b.Run("bare/"+name, func(b *testing.B) {
			m := requireMode(b, name)
			argv := []string{"/bin/true"}
			if m.rootless() && suite.isRoot {
				argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
			}
			benchExec(b, argv)
		})
		b.Run("unshare/"+name, func(b *testing.B) {
			m := requireMode(b, name)
			argv := []string{"unshare", "-Urmpf", "--mount-proc", "/bin/true"}
			if m.rootless() && suite.isRoot {
				argv = append([]string{"setpriv"}, asUserArgs(m.User, argv...)...)
			}
			benchExec(b, argv)
		})
		b.Run("phylum-box/"+name, func(b *testing.B) {
			m := requireMode(b, name)
			bx := newBox(b, m)
			inv := bx.invoke(nil, []string{"/bin/true"})
			if r := inv.exec(b); r.Code != 0 {
				b.Fatalf("phylum-box run -- /bin/true:\n%s", r)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := inv.exec(b); r.Code != 0 {
					b.Fatalf("phylum-box run -- /bin/true:\n%s", r)
				}
			}
		})
	}
}

func benchExec(b *testing.B, argv []string) {
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		skipf(b, "%v does not run here: %v: %s", argv, err, out)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Command(argv[0], argv[1:]...).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSyncBack30k is an npm-install-sized sync: CMD creates 30,000 small files
// under node_modules. "sync" exits 0 (the files are moved to the host); "discard"
// exits 3 after the same work, so sync − discard is the sync back's own cost.
func BenchmarkSyncBack30k(b *testing.B) {
	const dirs, files = 300, 100
	for _, name := range []string{"root", "rootless"} {
		for _, variant := range []string{"sync", "discard"} {
			b.Run(variant+"/"+name, func(b *testing.B) {
				m := requireMode(b, name)
				script := "./attacks mkfiles node_modules 300 100 >/dev/null"
				want := 0
				if variant == "discard" {
					script += " && exit 3"
					want = 3
				}
				var total, outside time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					bx := newBox(b, m)
					b.StartTimer()
					// -v makes phylum-box print its phase times; the time outside CMD's
					// own wait is the setup, the sync back and the cleanup.
					r := bx.sh([]string{"-v"}, script)
					total += r.Elapsed
					if w := waitPhase.FindStringSubmatch(r.Stderr); w != nil {
						ms, _ := strconv.ParseFloat(w[1], 64)
						outside += r.Elapsed - time.Duration(ms*float64(time.Millisecond))
					}
					if r.Code != want {
						b.Fatalf("want exit %d:\n%s", want, r)
					}
					b.StopTimer()
					if variant == "sync" && i == 0 {
						n := 0
						_ = filepath.WalkDir(filepath.Join(bx.Project, "node_modules"), func(p string, d os.DirEntry, err error) error {
							if err == nil && d.Type().IsRegular() {
								n++
							}
							return nil
						})
						if n != dirs*files {
							b.Fatalf("%d files synced, want %d", n, dirs*files)
						}
					}
					_ = os.RemoveAll(filepath.Dir(bx.Home))
					b.StartTimer()
				}
				b.ReportMetric(float64(dirs*files)/(total.Seconds()/float64(b.N)), "files/s")
				if outside > 0 {
					b.ReportMetric(float64(outside.Milliseconds())/float64(b.N), "ms-outside-CMD/op")
				}
			})
		}
	}
}

// waitPhase finds CMD's own run time in phylum-box's -v phase line (best effort:
// without it the metric is left out).
var waitPhase = regexp.MustCompile(`phases: .*wait=([0-9.]+)ms`)
