// Command testsummary reads `go test -json` on stdin and prints a short report: one
// line per package, the full output of every failing test, and every skipped test
// with the reason it gave — so no test is skipped silently in a non-verbose run.
// It exits 1 when any test or package failed, or when the input holds no result.
//
//	go test -json ./... | go run ./hack/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of test2json output.
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type skip struct{ pkg, test, why string }

func main() {
	failed, results, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed || results == 0 {
		if results == 0 {
			fmt.Println("testsummary: no test results in the input")
		}
		os.Exit(1)
	}
}

func summarize(in io.Reader, w io.Writer) (failed bool, results int, err error) {
	outputs := map[string][]string{} // pkg + "\x00" + test → output lines
	var skips []skip
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			// Not JSON: the go command's own messages (build errors); show them.
			fmt.Fprintln(w, string(line))
			continue
		}
		key := ev.Package + "\x00" + ev.Test
		switch ev.Action {
		case "output", "build-output":
			outputs[key] = append(outputs[key], ev.Output)
			if ev.Test == "" && packageNoise(ev.Output) {
				continue
			}
			if ev.Test == "" {
				// TestMain's own reports (the integration suite's skip summary).
				fmt.Fprint(w, ev.Output)
			}
		case "fail":
			failed = true
			results++
			if ev.Test != "" {
				fmt.Fprintf(w, "--- FAIL: %s %s (%.2fs)\n", ev.Package, ev.Test, ev.Elapsed)
				for _, o := range outputs[key] {
					fmt.Fprint(w, "    ", o)
				}
			} else {
				fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", ev.Package, ev.Elapsed)
			}
			delete(outputs, key)
		case "skip":
			results++
			if ev.Test != "" {
				skips = append(skips, skip{ev.Package, ev.Test, skipReason(outputs[key])})
			} else {
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", ev.Package)
			}
			delete(outputs, key)
		case "pass":
			results++
			if ev.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", ev.Package, ev.Elapsed)
			}
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		return failed, results, err
	}
	if len(skips) > 0 {
		sort.Slice(skips, func(i, j int) bool {
			if skips[i].pkg != skips[j].pkg {
				return skips[i].pkg < skips[j].pkg
			}
			return skips[i].test < skips[j].test
		})
		fmt.Fprintf(w, "\n%d test(s) skipped:\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(w, "  SKIP %s %s: %s\n", strings.TrimPrefix(s.pkg, "github.com/phylum-box/phylum-box/"), s.test, s.why)
		}
	}
	return failed, results, nil
}

// skipReason is what the test said before skipping (without the RUN/SKIP markers).
func skipReason(lines []string) string {
	var why []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		why = append(why, t)
	}
	if len(why) == 0 {
		return "(no reason given)"
	}
	return strings.Join(why, " / ")
}

// packageNoise are the package-level lines this summary replaces with its own.
func packageNoise(s string) bool {
	t := strings.TrimSpace(s)
	return t == "PASS" || t == "FAIL" || strings.HasPrefix(t, "ok  ") || strings.HasPrefix(t, "FAIL\t") ||
		strings.HasPrefix(t, "?   ") || t == "testing: warning: no tests to run"
}
