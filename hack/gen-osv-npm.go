//go:build ignore

// gen-osv-npm writes a synthetic OSV npm export (all.zip) shaped like the real one,
// the same data the osvdb benchmarks use:
//
//	go run hack/gen-osv-npm.go -o /tmp/npm-all.zip            # 250,000 records
//	go run hack/gen-osv-npm.go -n 50000 -seed 7 -o small.zip
//	phylum-box db import --db /tmp/bench.db /tmp/npm-all.zip
//
// With -popular (default: the corpus's vite.pnpm-lock.yaml) some advisories name
// that lockfile's real packages, so a check of it finds matches. Do not commit the
// output: it is hundreds of MB.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/phylum-box/phylum-box/precheck/osvdb/osvgen"
)

func main() {
	out := flag.String("o", "npm-all.zip", "output zip")
	n := flag.Int("n", 250_000, "number of records")
	seed := flag.Uint64("seed", 1, "random seed (the benchmarks use 1)")
	popular := flag.String("popular", "../shared/corpus/lockfiles/real/vite.pnpm-lock.yaml", "pnpm-lock.yaml whose packages receive some advisories (\"\" for none)")
	flag.Parse()

	o := osvgen.Options{Records: *n, Seed: *seed}
	if *popular != "" {
		pkgs, err := osvgen.PnpmPackages(*popular)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen-osv-npm:", err)
			os.Exit(1)
		}
		o.Popular = osvgen.Names(pkgs)
	}
	start := time.Now()
	if err := osvgen.WriteFile(*out, o); err != nil {
		fmt.Fprintln(os.Stderr, "gen-osv-npm:", err)
		os.Exit(1)
	}
	fi, _ := os.Stat(*out)
	fmt.Fprintf(os.Stderr, "wrote %s: %d records, %.1f MB in %s\n", *out, *n, float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))
}
