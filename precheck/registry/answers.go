package registry

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	"github.com/phylum-box/phylum-box/internal/safefs"
)

// A version's answer (its facts and its History), once worked out from its
// package's cache entry, is kept beside that entry in a file of its own: the
// next lookup reads ~300 bytes instead of decoding every published version of
// the package (issue 12: decoding the entries, megabytes for a 300-package
// project, was a quarter of phylum-box's own CPU time on `npm install PKG`).
// An answer records the size and modification time of the entry it came from;
// once the entry is rewritten (a new version fetched) it no longer matches and
// is worked out again. Like the entries, answers only ever save work: a missing
// or damaged one costs one decode.
type answer struct {
	Entry   entryStamp `json:"e"`
	Info    Version    `json:"v"`
	History History    `json:"h"`
}

type entryStamp struct {
	Size  int64 `json:"s"`
	MTime int64 `json:"m"` // nanoseconds
}

// maxAnswerName keeps an answer's file name within what file systems allow
// (255 bytes); a longer name@version is not kept.
const maxAnswerName = 240

// answerPath is the file of name@version's answer beside its entry (the file
// cachePath names). Both parts are query-escaped, so neither holds a raw "@" or
// "/" and the pair is one file.
func answerPath(entry, name, version string) string {
	if entry == "" {
		return ""
	}
	base := url.QueryEscape(name) + "@" + url.QueryEscape(version) + ".answer"
	if len(base) > maxAnswerName {
		return ""
	}
	return filepath.Join(filepath.Dir(entry), base)
}

// stampOf is the entry's size and modification time; ok false when it is not there.
func (c *Client) stampOf(reg, name string) (entryStamp, bool) {
	path := c.cachePath(reg, name)
	if path == "" {
		return entryStamp{}, false
	}
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return entryStamp{}, false
	}
	return entryStamp{Size: st.Size, MTime: st.Mtim.Nano()}, true
}

// loadAnswers fills out with the kept answers of versions; true only when every
// one was there and came from the entry as it is now.
func (c *Client) loadAnswers(reg, name string, versions []string, out []Result) bool {
	stamp, ok := c.stampOf(reg, name)
	if !ok {
		return false
	}
	entry := c.cachePath(reg, name)
	for i, v := range versions {
		path := answerPath(entry, name, v)
		if path == "" {
			return false
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		var a answer
		if json.Unmarshal(b, &a) != nil || a.Entry != stamp {
			return false
		}
		a.Info.Version, a.Info.History = v, a.History
		out[i] = Result{Spec: Spec{Name: name, Version: v}, Info: a.Info}
	}
	return true
}

// storeAnswers keeps the answers in res that have no error, stamped with the
// entry as it is now (stat before the entry was read, by the caller: an entry
// rewritten since then leaves answers that no longer match).
func (c *Client) storeAnswers(reg, name string, stamp entryStamp, res []Result) {
	entry := c.cachePath(reg, name)
	for _, r := range res {
		path := answerPath(entry, name, r.Version)
		if r.Err != nil || path == "" {
			continue
		}
		info := r.Info
		info.Version = ""
		b, err := json.Marshal(answer{Entry: stamp, Info: info, History: r.Info.History})
		if err != nil {
			continue
		}
		_ = safefs.ReplaceFile(path, b) // a cache: a failure costs one decode
	}
}
