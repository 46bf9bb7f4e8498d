package rootfs

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// Every format a config copy given to the build can have: what looks like a
// credential goes, what the build needs (registries, CAs, proxies, build options)
// stays, and the file still parses.
func TestSanitizeConfig(t *testing.T) {
	for _, tc := range []struct {
		name, format, in, want string
	}{
		{"npmrc tokens dropped, registry and cafile kept", "",
			"registry=https://npm.example.com/\n//npm.example.com/:_authToken=npm_SECRET\n_auth = dXNlcjpwYXNz\ncafile=/etc/ssl/certs/ca.crt\nalways-auth=true\n",
			"registry=https://npm.example.com/\ncafile=/etc/ssl/certs/ca.crt\n"},
		{"npmrc password, username, email, client key", "",
			"//r/:username=bob\n//r/:_password=cGFzcw==\nemail=bob@example.com\nkeyfile=/home/bob/key.pem\nproxy=http://proxy:3128\n",
			"proxy=http://proxy:3128\n"},
		{"npmrc unusual secret keys", "",
			"//host/:_password=aHVudGVy\nsome-api-key=abc123\nmy_secret_value=x\nMY_API_KEY=y\nfund=false\n",
			"fund=false\n"},
		{"npmrc secret after a lone carriage return", "",
			"registry=https://r.example/\r//r.example/:_authToken=SECRET\rfund=false\n",
			"registry=https://r.example/\rfund=false\n"},
		{"npmrc inline private key, certificate kept", "",
			"key=\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"\nca=\"-----BEGIN CERTIFICATE-----\\nMIIC\\n-----END CERTIFICATE-----\"\n",
			"ca=\"-----BEGIN CERTIFICATE-----\\nMIIC\\n-----END CERTIFICATE-----\"\n"},
		{"commented-out credential dropped, prose kept", "",
			"# token=abc is how you would do it\n# Put your password in ~/.npmrc, not here\n; _authToken=old\n",
			"# Put your password in ~/.npmrc, not here\n"},
		{"pip.conf index with userinfo, continuation values", "ini",
			"[global]\nindex-url = https://bob:s3cret@pypi.example.com/simple\nclient-cert = /etc/pip/client.pem\ntimeout = 60\nextra-index-url =\n    https://a.example/simple\n    https://tok:x-oauth@b.example/simple\ncert = /etc/ssl/ca.pem\n",
			"[global]\nindex-url = https://pypi.example.com/simple\ntimeout = 60\nextra-index-url =\n    https://a.example/simple\n    https://b.example/simple\ncert = /etc/ssl/ca.pem\n"},
		{"pypirc-like ini", "ini",
			"[distutils]\nindex-servers = pypi\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw\n",
			"[distutils]\nindex-servers = pypi\n[pypi]\n"},
		{"poetry config.toml http-basic and token sections", "toml",
			"[repositories.internal]\nurl = \"https://pkgs.example/simple/\"\n\n[http-basic.internal]\nusername = \"bob\"\npassword = \"hunter2\"\n\n[pypi-token]\npypi = \"pypi-AgEIcHlwaS5vcmcxxxxxxxxxxxxxxxxxxxxxx\"\n[virtualenvs]\nin-project = true\n",
			"[repositories.internal]\nurl = \"https://pkgs.example/simple/\"\n\n\n[virtualenvs]\nin-project = true\n"},
		{"cargo config: token, credential providers over several lines, inline table", "toml",
			"[registry]\ntoken = \"cio_SECRET\"\nglobal-credential-providers = [\n  \"cargo:token\",\n  \"cargo:libsecret\",\n]\n[registries.internal]\nindex = \"sparse+https://user:pw@cargo.example/index/\"\n[registries]\nother = { index = \"https://o.example/\", token = \"T\" }\n[http]\ncainfo = \"/etc/ssl/ca.pem\"\nproxy = \"http://proxyuser:proxypw@proxy:3128\"\n[build]\njobs = 2\n",
			"[registry]\n[registries.internal]\nindex = \"sparse+https://cargo.example/index/\"\n[registries]\n[http]\ncainfo = \"/etc/ssl/ca.pem\"\nproxy = \"http://proxy:3128\"\n[build]\njobs = 2\n"},
		{"toml multi-line string secret and PEM", "toml",
			"[a]\nsecret-key = \"\"\"\nline1\nline2\n\"\"\"\nkey = '''\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n'''\nkeep = 1\n",
			"[a]\nkeep = 1\n"},
		{"yarnrc.yml tokens at any depth, nested blocks", "yaml",
			"npmRegistryServer: \"https://npm.example.com\"\nnpmAuthToken: \"${NPM_TOKEN}\"\nnpmScopes:\n  acme:\n    npmAlwaysAuth: true\n    npmAuthIdent: \"bob:pw\"\n    npmRegistryServer: \"https://acme.example/\"\nnpmRegistries:\n  \"https://x.example\":\n    npmAuthToken: abc\ncredentials:\n  user: bob\n  pass: x\nenableTelemetry: false\n",
			"npmRegistryServer: \"https://npm.example.com\"\nnpmScopes:\n  acme:\n    npmRegistryServer: \"https://acme.example/\"\nnpmRegistries:\n  \"https://x.example\":\nenableTelemetry: false\n"},
		{"yarn 1 .yarnrc key value", "",
			"registry \"https://r.example/\"\n\"//r.example/:_authToken\" abc\n_password \"x\"\nnetwork-timeout 60000\n",
			"registry \"https://r.example/\"\nnetwork-timeout 60000\n"},
		{"gitconfig url section with token, extraheader, credential helper", "",
			"[user]\n\tname = Bob\n[url \"https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz0123456789@github.com/\"]\n\tinsteadOf = https://github.com/\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3M=\n\tsslVerify = true\n[credential]\n\thelper = store\n[core]\n\tautocrlf = input\n[url \"ssh://git@github.com/\"]\n\tinsteadOf = gh:\n",
			"[user]\n\tname = Bob\n[http \"https://github.com/\"]\n\tsslVerify = true\n[core]\n\tautocrlf = input\n[url \"ssh://git@github.com/\"]\n\tinsteadOf = gh:\n"},
		{"bundler config: host credentials go, mirrors and build options stay", "yaml",
			"---\nBUNDLE_PATH: \"vendor/bundle\"\nBUNDLE_GEMS__EXAMPLE__COM: \"bob:pw\"\nBUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: \"https://mirror.example/\"\nBUNDLE_BUILD__NOKOGIRI: \"--use-system-libraries\"\n",
			"---\nBUNDLE_PATH: \"vendor/bundle\"\nBUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: \"https://mirror.example/\"\nBUNDLE_BUILD__NOKOGIRI: \"--use-system-libraries\"\n"},
		{"Authorization header and known token shapes under innocent keys", "",
			"headers=Authorization: Bearer abc\nmirror=https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/x\nnote=AKIAABCDEFGHIJKLMNOP\nregistry=https://r.example/\n",
			"registry=https://r.example/\n"},
		{"PEM private key block over several lines", "",
			"cafile=/x.crt\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\nfund=false\n",
			"cafile=/x.crt\nfund=false\n"},
		{"nothing to drop stays byte for byte", "",
			"registry=https://registry.npmjs.org/\n\n; comment\n[section]\nauthor-name=kept? no\ninit-version=1.0.0\n",
			"registry=https://registry.npmjs.org/\n\n; comment\n[section]\nauthor-name=kept? no\ninit-version=1.0.0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SanitizeConfig(tc.in)
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			switch tc.format {
			case "toml":
				var v map[string]any
				if _, err := toml.Decode(got, &v); err != nil {
					t.Errorf("the scrubbed copy is not valid TOML: %v", err)
				}
			case "yaml":
				var v any
				if err := yaml.Unmarshal([]byte(got), &v); err != nil {
					t.Errorf("the scrubbed copy is not valid YAML: %v", err)
				}
			}
			for _, secret := range []string{"SECRET", "hunter2", "s3cret", "cio_", "pw@", "bob:pw", "eC1hY2", "MIIE", "ghs_", "ghp_", "AKIA", "pypi-AgE"} {
				if strings.Contains(got, secret) {
					t.Errorf("%q left in:\n%s", secret, got)
				}
			}
		})
	}
}

// Whatever the input, no line SanitizeConfig keeps looks like a credential (nor
// holds a private key's BEGIN line or a user:password@), and it never panics.
func FuzzSanitizeConfig(f *testing.F) {
	for _, s := range []string{
		"registry=https://r/\n//r/:_authToken=x\n",
		"[a]\ntoken = [\n 1,\n]\nk = '''\n-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n'''\n",
		"npmScopes:\n  a:\n    npmAuthToken: x\n",
		"[url \"https://u:p@h/\"]\n\tinsteadOf = https://h/\n",
		"a=1\r_password=2\rb=3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeConfig(in)
		for _, line := range splitConfigLines(out) {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" {
				continue
			}
			if name, ok := sectionName(trimmed); ok {
				if secretSection(name) {
					t.Fatalf("secret section kept: %q\nin: %q", line, in)
				}
				continue
			}
			if secretLine(trimmed) {
				t.Fatalf("secret line kept: %q\nin: %q", line, in)
			}
			if begin, secret := pemBegin(trimmed); begin && secret {
				t.Fatalf("private key kept: %q\nin: %q", line, in)
			}
			if stripUserinfo(line) != line {
				t.Fatalf("userinfo kept: %q\nin: %q", line, in)
			}
		}
	})
}
