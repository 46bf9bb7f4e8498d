package behaviour

import "testing"

func TestAttribute(t *testing.T) {
	for _, tt := range []struct {
		eco, cwd string
		env      map[string]string
		want     Package
	}{
		// npm, yarn and pnpm set the lifecycle variables for a package's script.
		{"npm", "/p/node_modules/evil", map[string]string{"npm_package_name": "evil", "npm_package_version": "1.0.0"}, Package{"npm", "evil", "1.0.0"}},
		{"npm", "/p", map[string]string{"npm_package_name": "@acme/tool", "npm_package_version": "2.1.0"}, Package{"npm", "@acme/tool", "2.1.0"}},
		// Without them, the directory: the last node_modules/<name>.
		{"npm", "/p/node_modules/esbuild", nil, Package{"npm", "esbuild", ""}},
		{"npm", "/p/node_modules/a/node_modules/@swc/core/scripts", nil, Package{"npm", "@swc/core", ""}},
		{"npm", "/p/node_modules/.pnpm/sharp@0.33.2/node_modules/sharp", nil, Package{"npm", "sharp", "0.33.2"}},
		{"npm", "/p/node_modules/.pnpm/@parcel+watcher@2.4.1_peer@1.0.0/node_modules/@parcel/watcher/build", nil, Package{"npm", "@parcel/watcher", "2.4.1"}},
		{"npm", "/p/.yarn/unplugged/esbuild-npm-0.20.2-6a51b7bfd0/node_modules/esbuild", nil, Package{"npm", "esbuild", "0.20.2"}},
		{"npm", "/p/.yarn/unplugged/@swc-core-npm-1.4.8-0123456789/node_modules/@swc/core", nil, Package{"npm", "@swc/core", "1.4.8"}},
		{"npm", "/p", nil, Package{}},
		{"npm", "/p/node_modules/.bin", nil, Package{}},
		{"npm", "/p/node_modules/@scope", nil, Package{}},
		// cargo's build scripts and rustc get the crate's variables.
		{"crates.io", "/p", map[string]string{"CARGO_PKG_NAME": "openssl-sys", "CARGO_PKG_VERSION": "0.9.102"}, Package{"crates.io", "openssl-sys", "0.9.102"}},
		{"crates.io", "/p", map[string]string{"CARGO_MANIFEST_DIR": "/h/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ring-0.17.8"}, Package{"crates.io", "ring", "0.17.8"}},
		{"crates.io", "/h/.cargo/registry/src/index.crates.io-6f17d22bba15001f/aws-lc-sys-0.21.1/builder", nil, Package{"crates.io", "aws-lc-sys", "0.21.1"}},
		// pip unpacks a requirement into pip-install-*/<name>_<hex>; an sdist's own dir is <name>-<version>.
		{"PyPI", "/tmp/pip-install-k3j2h1/evil_pkg_0123456789abcdef0123456789abcdef", nil, Package{"PyPI", "evil_pkg", ""}},
		{"PyPI", "/tmp/tmpab12cd/psycopg2-2.9.9", nil, Package{"PyPI", "psycopg2", "2.9.9"}},
		{"PyPI", "/tmp/pip-req-build-x1y2z3", nil, Package{}},
		{"PyPI", "/usr/lib/python3.12", nil, Package{}},
		// Bundler builds an extension in gems/<name>-<version>[-platform]/ext/….
		{"RubyGems", "/p/vendor/bundle/ruby/3.2.0/gems/nokogiri-1.16.0/ext/nokogiri", nil, Package{"RubyGems", "nokogiri", "1.16.0"}},
		{"RubyGems", "/p/vendor/bundle/ruby/3.2.0/gems/aws-sdk-s3-1.143.0-x86_64-linux/ext", nil, Package{"RubyGems", "aws-sdk-s3", "1.143.0"}},
		{"RubyGems", "/p", nil, Package{}},
		// The environment of another ecosystem says nothing.
		{"PyPI", "/p", map[string]string{"npm_package_name": "evil"}, Package{}},
	} {
		if got := Attribute(tt.eco, tt.env, tt.cwd); got != tt.want {
			t.Errorf("Attribute(%s, %v, %s) = %+v, want %+v", tt.eco, tt.env, tt.cwd, got, tt.want)
		}
	}
}
