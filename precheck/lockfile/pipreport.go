package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/phylum-box/phylum-box/precheck"
)

// pip's installation report: `pip install --dry-run --ignore-installed --report FILE ...`
// (https://pip.pypa.io/en/stable/reference/installation-report/). No scalibr extractor
// reads it, so it is decoded here.
//
// Each "install" item is one distribution pip would install. pip marks whether it came from
// an index: `is_direct` is true for requirements given as a URL or path (PEP 610
// direct_url.json); those, and any VCS or local-directory download, are not what an index
// serves under that name and version, and are reported as Uncheckable.
type pipReport struct {
	Version string `json:"version"`
	Install *[]struct {
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
		IsDirect     bool `json:"is_direct"`
		DownloadInfo struct {
			URL         string          `json:"url"`
			VCSInfo     json.RawMessage `json:"vcs_info"`
			DirInfo     json.RawMessage `json:"dir_info"`
			ArchiveInfo json.RawMessage `json:"archive_info"`
		} `json:"download_info"`
	} `json:"install"`
}

func parsePipReport(in *input) ([]precheck.Package, error) {
	if len(bytes.TrimSpace(in.data)) == 0 {
		return nil, fmt.Errorf("%w: not JSON; produce it with `pip install --dry-run --ignore-installed --report FILE ...`", errEmpty)
	}
	var rep pipReport
	if err := json.Unmarshal(in.data, &rep); err != nil {
		return nil, fmt.Errorf("not a valid pip installation report: %w", jsonError(in.data, err))
	}
	if rep.Install == nil {
		return nil, errors.New(`not a pip installation report: no "install" list; produce it with ` +
			"`pip install --dry-run --ignore-installed --report FILE ...`")
	}
	out := make([]precheck.Package, 0, len(*rep.Install))
	for i, it := range *rep.Install {
		name, version := it.Metadata.Name, it.Metadata.Version
		if name == "" {
			return nil, fmt.Errorf("install[%d]: no metadata.name", i)
		}
		p := precheck.Package{Ecosystem: precheck.PyPI, Name: name, Version: version, Source: in.source}
		u := it.DownloadInfo.URL
		switch {
		case len(it.DownloadInfo.VCSInfo) > 0 && string(it.DownloadInfo.VCSInfo) != "null":
			p.Uncheckable, p.Reason = true, "VCS dependency ("+u+")"
		case len(it.DownloadInfo.DirInfo) > 0 && string(it.DownloadInfo.DirInfo) != "null":
			p.Uncheckable, p.Reason = true, "local directory ("+u+")"
		case it.IsDirect:
			p.Uncheckable, p.Reason = true, "direct URL or file, not from an index ("+u+")"
		case version == "":
			p.Uncheckable, p.Reason = true, "no version in the report"
		}
		out = append(out, p)
	}
	return out, nil
}
