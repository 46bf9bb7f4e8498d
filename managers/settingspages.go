package managers

import "sync"

// Settings pages are the reference pages generated from a manager's table of
// project-configuration settings (docs/reference/<name>.md): the same table the
// plan enforces, so the page cannot drift from the code. Each table registers its
// page from init; `phylum-box docs` writes them with the command pages and its
// test fails when a committed page is stale.

var (
	settingsPagesMu sync.Mutex
	settingsPages   = map[string]func() string{}
)

// RegisterSettingsPage adds the page file (e.g. "cargo-config-settings.md")
// rendered by render. A duplicate file name panics.
func RegisterSettingsPage(file string, render func() string) {
	settingsPagesMu.Lock()
	defer settingsPagesMu.Unlock()
	if _, dup := settingsPages[file]; dup {
		panic("managers: duplicate settings page " + file)
	}
	settingsPages[file] = render
}

// SettingsPages renders every registered settings page, keyed by file name.
func SettingsPages() map[string]string {
	settingsPagesMu.Lock()
	defer settingsPagesMu.Unlock()
	out := make(map[string]string, len(settingsPages))
	for name, render := range settingsPages {
		out[name] = render()
	}
	return out
}
