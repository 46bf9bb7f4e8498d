package managers

import (
	"slices"
	"strings"
	"testing"
)

func TestKeptEnv(t *testing.T) {
	environ := []string{
		"PUPPETEER_SKIP_DOWNLOAD=1", "CYPRESS_INSTALL_BINARY=0", "ELECTRON_SKIP_BINARY_DOWNLOAD=1",
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "SHARP_IGNORE_GLOBAL_LIBVIPS=1",
		"SHARP_DIST_BASE_URL=https://u:p@mirror.example/", // a URL with a password
		"SHARP_API_KEY=k", "NPM_TOKEN=t", "AWS_SECRET_ACCESS_KEY=s", "GITHUB_TOKEN=g",
		"MY_FLAG=1", "MY_PASSWORD=x", "UNRELATED=1", "MY_FLAG=2",
	}
	kept, dropped := KeptEnv(environ, []string{"MY_FLAG", "MY_PASSWORD", "ABSENT"})
	want := []string{"PUPPETEER_SKIP_DOWNLOAD=1", "CYPRESS_INSTALL_BINARY=0", "ELECTRON_SKIP_BINARY_DOWNLOAD=1",
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "SHARP_IGNORE_GLOBAL_LIBVIPS=1", "MY_FLAG=2"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q\nwant %q", kept, want)
	}
	if !slices.Equal(dropped, []string{"MY_PASSWORD"}) {
		t.Errorf("dropped %q", dropped)
	}
}

func TestKeepEnvProblem(t *testing.T) {
	for _, k := range []string{"NPM_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "DB_PASSWORD", "HOME", "npm_config_ignore_scripts", "npm_config_key", "PIP_INDEX_URL", "YARN_ENABLE_SCRIPTS", "A=B", ""} {
		if KeepEnvProblem(k) == "" {
			t.Errorf("%q should be refused", k)
		}
	}
	for _, k := range []string{"PUPPETEER_SKIP_DOWNLOAD", "MY_FLAG", "SSL_CERT_FILE", "NODE_ENV", "BUILD_TARGET"} {
		if why := KeepEnvProblem(k); why != "" {
			t.Errorf("%q refused: %s", k, why)
		}
	}
}

// npm settings classified as credentials (npmsettings.go) never reach a step that
// runs package code, whatever their name looks like.
func TestNpmEnvCredential(t *testing.T) {
	for _, k := range []string{"npm_config_key", "npm_config_cert", "npm_config__authToken", "npm_config_username", "npm_config_email", "pnpm_config_keyfile"} {
		if !looksSecretEnv(k, "x") {
			t.Errorf("%s should count as a credential", k)
		}
	}
	for _, k := range []string{"npm_config_omit", "npm_config_foreground_scripts", "npm_config_registry"} {
		if looksSecretEnv(k, "https://registry.example/") {
			t.Errorf("%s is not a credential", k)
		}
	}
	if !looksSecretEnv("npm_config_proxy", "http://u:pw@proxy:3128") {
		t.Error("a proxy URL with a password is a credential")
	}
}

// A secret kept under a name none of the usual words mark (a project's
// .phylum-box.yaml chooses the names, your environment has the values): the
// value's shape or the name's other words keep it from the install scripts.
func TestKeptEnvSecretsByShape(t *testing.T) {
	environ := []string{
		"REDIS_URL=redis://:hunter2@cache.internal:6379/0", // a password with no user
		"GIT_REMOTE=https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r.git",
		"BUILD_NOTE=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"DEPLOY_KEYFILE=-----BEGIN OPENSSH PRIVATE KEY-----",
		"DB_PASS=x", "MYSQL_PWD=x", "GITHUB_PAT=x", "CI_JOB_JWT=x", "SENTRY_DSN=https://k.example/1", "SLACK_WEBHOOK_URL=https://hooks.example/T/B/x",
		// The twins: plain switches and URLs without userinfo pass.
		"MIRROR_URL=https://mirror.example/dist/", "NODE_PATH=/opt/lib", "BUILD_TARGET=linux-x64",
	}
	var names []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	kept, _ := KeptEnv(environ, names)
	want := []string{"MIRROR_URL=https://mirror.example/dist/", "NODE_PATH=/opt/lib", "BUILD_TARGET=linux-x64"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q\nwant %q", kept, want)
	}
}
