package install

import (
	"slices"
	"strings"
	"testing"
)

func TestWithKeptEnv(t *testing.T) {
	o := Options{Environ: []string{"PUPPETEER_SKIP_DOWNLOAD=1", "MY_FLAG=on", "NPM_TOKEN=t", "npm_config_offline=false", "OTHER=x"}, KeepEnv: []string{"MY_FLAG", "NPM_TOKEN"}}
	step := []string{"PATH=/usr/bin", "npm_config_offline=true", "MY_FLAG=plan"}
	got := o.withKeptEnv(slices.Clone(step))
	want := append(slices.Clone(step), "PUPPETEER_SKIP_DOWNLOAD=1")
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q (the step's own values win; a token and unnamed variables never pass)", got, want)
	}
}

func TestKeepEnvNames(t *testing.T) {
	got, err := KeepEnvNames([]string{"MY_FLAG"}, []string{"CFG_FLAG", "MY_FLAG"}, []string{"POL_FLAG"})
	if err != nil || !slices.Equal(got, []string{"MY_FLAG", "CFG_FLAG", "POL_FLAG"}) {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"NPM_TOKEN", "AWS_SECRET_ACCESS_KEY", "npm_config_ignore_scripts", "HOME", "A=B"} {
		if _, err := KeepEnvNames([]string{bad}, nil, nil); err == nil || !strings.Contains(err.Error(), "--keep-env") {
			t.Errorf("--keep-env %s: %v", bad, err)
		}
	}
	if got, err := KeepEnvNames(nil, []string{"NPM_TOKEN"}, nil); err != nil || len(got) != 1 {
		t.Errorf("a credential from a file is dropped later with a warning, not an error: %q %v", got, err)
	}
}
