package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestKeepEnv(t *testing.T) {
	dir := writeConfig(t, "keep_env: [PUPPETEER_SKIP_DOWNLOAD, MY_BUILD_FLAG]\n")
	c, err := Load("", mapEnv(map[string]string{"XDG_CONFIG_HOME": dir, "HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"PUPPETEER_SKIP_DOWNLOAD", "MY_BUILD_FLAG"}; !slices.Equal(c.KeepEnv, want) {
		t.Errorf("KeepEnv = %q, want %q", c.KeepEnv, want)
	}
	dir = writeConfig(t, "keep_env: [\"A=B\"]\n")
	_, err = Load("", mapEnv(map[string]string{"XDG_CONFIG_HOME": dir, "HOME": t.TempDir()}))
	if err == nil || !strings.Contains(err.Error(), "keep_env entry \"A=B\"") || !strings.Contains(err.Error(), filepath.Join(dir, "phylum-box", "config.yaml")) {
		t.Errorf("a bad name: %v", err)
	}
	dir = writeConfig(t, "keep_envs: [X]\n")
	_, err = Load("", mapEnv(map[string]string{"XDG_CONFIG_HOME": dir, "HOME": t.TempDir()}))
	if err == nil || !strings.Contains(err.Error(), "keep_env") {
		t.Errorf("unknown key should list keep_env among the valid keys: %v", err)
	}
}
