package install

import (
	"slices"
	"testing"
)

func TestPnpmNoSwitch(t *testing.T) {
	f := pnpmNoSwitchFlag
	for _, tc := range []struct {
		manager string
		args    []string
		want    []string
	}{
		{"pnpm", []string{"pnpm", "install", "--frozen-lockfile"}, []string{"pnpm", f, "install", "--frozen-lockfile"}},
		{"pnpm", []string{"sh", "-c", "SCRIPT", "sh", "pnpm", "install", "--offline"}, []string{"sh", "-c", "SCRIPT", "sh", "pnpm", f, "install", "--offline"}},
		{"pnpm", []string{"sh", "-c", "SCRIPT", "sh", "--config.store-dir=/s", "pnpm", "rebuild"}, []string{"sh", "-c", "SCRIPT", "sh", "--config.store-dir=/s", "pnpm", f, "rebuild"}},
		{"pnpm", []string{"node", "-e", "x"}, nil},
		{"pnpm", []string{"sh", "-c", "pnpm install"}, nil},
		{"npm", []string{"pnpm", "install"}, nil},
		{"pnpm", nil, nil},
	} {
		got := pnpmNoSwitch(tc.manager, tc.args)
		if !slices.Equal(got, tc.want) {
			t.Errorf("pnpmNoSwitch(%s, %q) = %q, want %q", tc.manager, tc.args, got, tc.want)
		}
	}
	// The plan's argv is left as it was (the report shows it).
	args := []string{"pnpm", "install"}
	pnpmNoSwitch("pnpm", args)
	if !slices.Equal(args, []string{"pnpm", "install"}) {
		t.Errorf("the step's own argv changed: %q", args)
	}
}
