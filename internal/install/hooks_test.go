package install

import (
	"slices"
	"testing"
)

func TestChangedBesides(t *testing.T) {
	before := map[string]string{"pnpm-lock.yaml": "a", "package.json": "p"}
	after := map[string]string{"pnpm-lock.yaml": "b", "package.json": "p", "pnpm-workspace.yaml": "new"}
	if got := changedBesides(before, after, []string{"pnpm-lock.yaml"}); !slices.Equal(got, []string{"pnpm-workspace.yaml"}) {
		t.Errorf("got %q", got)
	}
	after = map[string]string{"pnpm-lock.yaml": "c"} // package.json's change undone
	if got := changedBesides(before, after, []string{"pnpm-lock.yaml"}); !slices.Equal(got, []string{"package.json"}) {
		t.Errorf("got %q", got)
	}
	if got := changedBesides(before, before, nil); len(got) != 0 {
		t.Errorf("got %q", got)
	}
}

func TestShownArgs(t *testing.T) {
	if got := shownArgs([]string{"sh", "-c", "script", "sh", "pnpm", "install"}); !slices.Equal(got, []string{"pnpm", "install"}) {
		t.Errorf("got %q", got)
	}
	if got := shownArgs([]string{"pnpm", "install"}); !slices.Equal(got, []string{"pnpm", "install"}) {
		t.Errorf("got %q", got)
	}
}
