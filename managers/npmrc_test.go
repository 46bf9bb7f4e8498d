package managers

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func npmrcEnv(t *testing.T, project, user string, environ ...string) (Env, string) {
	t.Helper()
	root, home := t.TempDir(), t.TempDir()
	if project != "" {
		writeFile(t, filepath.Join(root, ".npmrc"), project)
	}
	if user != "" {
		writeFile(t, filepath.Join(home, ".npmrc"), user)
	}
	// PATH is empty so the machine's global npmrc stays out of the test.
	return Env{Dir: root, Home: home, Environ: append([]string{"PATH="}, environ...)}, root
}

func TestNpmConfigRegistries(t *testing.T) {
	tests := []struct {
		name          string
		project, user string
		environ       []string
		cli           map[string]string
		registry      string
		scopes        map[string]string
	}{
		{name: "default", registry: DefaultNpmRegistry},
		{name: "user", user: "registry=https://npm.corp.example/api/npm", registry: "https://npm.corp.example/api/npm/"},
		{name: "project beats user", project: "registry = \"https://proj.example/\"\n", user: "registry=https://user.example/", registry: "https://proj.example/"},
		{name: "env beats files", project: "registry=https://proj.example/", environ: []string{"npm_config_registry=https://env.example"}, registry: "https://env.example/"},
		{name: "upper-case env", environ: []string{"NPM_CONFIG_REGISTRY=https://env2.example/"}, registry: "https://env2.example/"},
		{name: "cli beats env", environ: []string{"npm_config_registry=https://env.example/"}, cli: map[string]string{"registry": "https://cli.example/"}, registry: "https://cli.example/"},
		{name: "env expansion", user: "registry=https://${REG_HOST}/npm/", environ: []string{"REG_HOST=mirror.example"}, registry: "https://mirror.example/npm/"},
		{name: "last line wins", user: "registry=https://a.example/\nregistry=https://b.example/\n", registry: "https://b.example/"},
		{
			name:     "scopes from every level",
			project:  "@corp:registry=https://corp.example/\n; comment\n# comment\n",
			user:     "@corp:registry=https://ignored.example/\n@oss:registry=https://oss.example",
			environ:  []string{"npm_config_@env:registry=https://envscope.example/"},
			cli:      map[string]string{"@cli:registry": "https://cliscope.example/"},
			registry: DefaultNpmRegistry,
			scopes: map[string]string{"@corp": "https://corp.example/", "@oss": "https://oss.example/",
				"@env": "https://envscope.example/", "@cli": "https://cliscope.example/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, root := npmrcEnv(t, tt.project, tt.user, tt.environ...)
			c, err := LoadNpmConfig(env, root, tt.cli)
			if err != nil {
				t.Fatal(err)
			}
			if c.Registry != tt.registry {
				t.Errorf("registry %q, want %q", c.Registry, tt.registry)
			}
			if tt.scopes == nil {
				tt.scopes = map[string]string{}
			}
			if fmt.Sprint(c.Scopes) != fmt.Sprint(tt.scopes) {
				t.Errorf("scopes %v, want %v", c.Scopes, tt.scopes)
			}
		})
	}
}

func TestNpmConfigAuth(t *testing.T) {
	// ${VAR} is expanded in the user's file only (a project's is refused, see
	// TestProjectNpmrcRefusals).
	project := strings.Join([]string{
		"@corp:registry=https://npm.corp.example/api/npm/",
		"//basic.example/:username=bob",
		"//basic.example/:_password=" + base64.StdEncoding.EncodeToString([]byte("hunter2")),
		`//escaped.example/:_authToken=\${LITERAL}`,
	}, "\n")
	user := "//registry.npmjs.org/:_authToken=npm_USERTOKEN\nsave-exact=true\n//auth.example/:_auth=dXNlcjpwdw==\n" +
		"//npm.corp.example/api/:_authToken=${CORP_TOKEN}\n//unset.example/:_authToken=${NOT_SET}\n"
	env, root := npmrcEnv(t, project, user, "CORP_TOKEN=corp_SECRET")
	c, err := LoadNpmConfig(env, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want Auth
		ok   bool
	}{
		{"https://registry.npmjs.org/", Auth{Token: "npm_USERTOKEN"}, true},
		{"https://npm.corp.example/api/npm/", Auth{Token: "corp_SECRET"}, true}, // found on a parent path
		{"https://npm.corp.example/other/", Auth{}, false},
		{"https://unset.example/", Auth{}, false}, // ${NOT_SET} stays literal: not a credential
		{"https://basic.example/", Auth{Basic: base64.StdEncoding.EncodeToString([]byte("bob:hunter2"))}, true},
		{"https://auth.example/x/", Auth{Basic: "dXNlcjpwdw=="}, true},
		{"https://escaped.example/", Auth{}, false},
	}
	for _, tt := range tests {
		got, ok := c.AuthFor(tt.url)
		if ok != tt.ok || got != tt.want {
			t.Errorf("AuthFor(%s) = %v %v, want %v", tt.url, got.Token+got.Basic, ok, tt.want.Token+tt.want.Basic)
		}
	}
	if r := c.RegistryFor("@corp/lib"); r != "https://npm.corp.example/api/npm/" {
		t.Errorf("RegistryFor(@corp/lib) = %s", r)
	}
	if r := c.RegistryFor("lodash"); r != DefaultNpmRegistry {
		t.Errorf("RegistryFor(lodash) = %s", r)
	}

	cr := c.Credentials()
	if cr == nil {
		t.Fatal("no credentials")
	}
	secrets := []string{"npm_USERTOKEN", "corp_SECRET", "dXNlcjpwdw==", "hunter2", base64.StdEncoding.EncodeToString([]byte("hunter2"))}
	var proj, home *ConfigFile
	for i := range cr.Files {
		switch {
		case cr.Files[i].Project == ".npmrc":
			proj = &cr.Files[i]
		case cr.Files[i].Home == ".npmrc":
			home = &cr.Files[i]
		}
	}
	if proj == nil || home == nil {
		t.Fatalf("want project and home files, got %s", cr)
	}
	for _, s := range secrets {
		if strings.Contains(string(proj.Public), s) || strings.Contains(string(home.Public), s) {
			t.Errorf("public config carries secret %q", s)
		}
	}
	// The home file moves into the sandbox's $HOME, so its secrets are expanded in
	// the secret copy; the project's literal credentials stay in its secret copy.
	if !strings.Contains(string(home.Secret), "corp_SECRET") || !strings.Contains(string(home.Secret), "npm_USERTOKEN") ||
		!strings.Contains(string(proj.Secret), "//basic.example/:username=bob") {
		t.Errorf("secret copies:\n%s\n%s", proj.Secret, home.Secret)
	}
	if !strings.Contains(string(home.Public), "save-exact=true") || !strings.Contains(string(proj.Public), "@corp:registry=") {
		t.Errorf("public copies lost settings:\n%s\n%s", home.Public, proj.Public)
	}
	if fmt.Sprint(cr.Env) != "[CORP_TOKEN=corp_SECRET]" {
		t.Errorf("env %q", cr.Env)
	}
	js, _ := json.Marshal(struct{ C *Credentials }{cr})
	for _, printed := range []string{cr.String(), fmt.Sprintf("%v %+v %#v", cr, cr, cr), string(js), fmt.Sprintf("%v %#v", Auth{Token: "npm_USERTOKEN"}, Auth{Basic: "hunter2"})} {
		for _, s := range secrets {
			if strings.Contains(printed, s) {
				t.Errorf("printed credentials contain %q: %s", s, printed)
			}
		}
	}
}

// A project .npmrc is replaced in every step even without secrets: the steps never
// read it as committed.
func TestNpmConfigNoCredentials(t *testing.T) {
	env, root := npmrcEnv(t, "save-exact=true\n", "")
	c, err := LoadNpmConfig(env, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	cr := c.Credentials()
	if cr == nil || len(cr.Files) != 1 || cr.Files[0].Project != ".npmrc" || len(cr.Env) != 0 {
		t.Fatalf("want the project file only, got %s", cr)
	}
	for _, v := range [][]byte{cr.Files[0].Secret, cr.Files[0].Public} {
		if !strings.Contains(string(v), "save-exact=true") {
			t.Errorf("rendering lost save-exact:\n%s", v)
		}
	}
	env, root = npmrcEnv(t, "", "")
	if c, _ := LoadNpmConfig(env, root, nil); c.Credentials() != nil {
		t.Errorf("no .npmrc anywhere needs no credentials")
	}
}

// npm 11 warns about "nodedir" in a user config on every command: the sandbox's copy
// drops it (the build step passes the headers dir to node-gyp itself).
func TestNpmConfigDropsNodedir(t *testing.T) {
	env, root := npmrcEnv(t, "", "nodedir=/usr\n//registry.npmjs.org/:_authToken=tok-1\nfund=false\n")
	c, err := LoadNpmConfig(env, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.get("nodedir"); got != "/usr" {
		t.Errorf("nodedir = %q, want it still read (/usr)", got)
	}
	cr := c.Credentials()
	if cr == nil || len(cr.Files) != 1 {
		t.Fatalf("want one user-level file, got %v", cr)
	}
	for _, data := range [][]byte{cr.Files[0].Secret, cr.Files[0].Public} {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "nodedir") {
				t.Errorf("sandbox copy keeps %q:\n%s", line, data)
			}
		}
		if !strings.Contains(string(data), "fund=false") {
			t.Errorf("other settings lost:\n%s", data)
		}
	}
}
