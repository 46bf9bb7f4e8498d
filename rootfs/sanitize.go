package rootfs

import (
	"regexp"
	"strings"
	"unicode"
)

// SanitizeConfig returns a config file without anything that looks like a
// credential, whatever the file's format (npmrc, pip.conf and other ini files,
// TOML, YAML, .gitconfig, .bundle/config): it is what the steps without
// credentials (the build, where package code runs) are given in place of a config
// that may hold secrets. It drops
//
//   - a line whose key names a secret: password, passwd, token, secret, auth,
//     credential, apikey/api_key, private_key, username, email, keyfile, client
//     certificates (npm's //host/:_authToken, yarn's npmAuthToken, cargo's token,
//     poetry's http-basic, bundler's BUNDLE_HOST__NAME) — also inside an inline
//     table or flow mapping, and also commented out;
//   - with it the lines that continue its value (more indented lines, the rest of
//     a multi-line TOML/YAML array or string);
//   - Authorization and extraheader lines, and values shaped like well-known
//     tokens (ghp_…, npm_…, glpat-…, AKIA…, pypi-…);
//   - a section whose name holds a credential or a URL with userinfo
//     ([url "https://x-access-token:…@github.com/"], [credential]);
//   - PEM blocks other than certificates and public keys;
//
// and removes user:password@ (and a token@ over https) from URLs, so registry,
// index and proxy URLs stay. Everything else is kept as it is.
func SanitizeConfig(content string) string {
	var b strings.Builder
	var (
		inPEM       bool
		pemCloser   string // a TOML multi-line string holding the PEM block
		skipSection bool
		dropIndent  = -1 // a dropped line's indentation: more indented lines continue it
		closer      string
		depth       int
	)
	lines := splitConfigLines(content)
	for n, line := range lines {
		text := strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(text)
		indent := len(text) - len(strings.TrimLeft(text, " \t"))
		// The rest of a dropped multi-line value.
		if closer != "" {
			if strings.Contains(trimmed, closer) {
				closer = ""
			}
			continue
		}
		if depth > 0 {
			depth += bracketDepth(trimmed)
			continue
		}
		if inPEM {
			if i := strings.Index(trimmed, "-----END "); i >= 0 {
				inPEM = false
				if pemCloser != "" && !strings.Contains(trimmed[i:], pemCloser) {
					closer = pemCloser
				}
			}
			continue
		}
		if dropIndent >= 0 {
			if trimmed == "" {
				b.WriteString(line)
				continue
			}
			if indent > dropIndent {
				continue
			}
			dropIndent = -1
		}
		if trimmed == "" {
			b.WriteString(line)
			continue
		}
		if begin, secret := pemBegin(trimmed); begin {
			if secret {
				inPEM = !strings.Contains(trimmed, "-----END ")
				if inPEM {
					pemCloser = tripleQuoteOpened(lineValue(trimmed))
				}
				continue
			}
		}
		if name, ok := sectionName(trimmed); ok {
			skipSection = secretSection(name)
			if skipSection {
				continue
			}
			b.WriteString(line)
			continue
		}
		if skipSection {
			continue
		}
		if secretLine(trimmed) {
			dropIndent = indent
			value := lineValue(trimmed)
			closer = tripleQuoteOpened(value)
			if closer == "" && (strings.HasPrefix(value, "[") || strings.HasPrefix(value, "{")) {
				depth = bracketDepth(value)
			}
			continue
		}
		if q := tripleQuoteOpened(lineValue(trimmed)); q != "" && multilineHoldsKey(lines[n+1:], q) {
			closer = q // a private key in a TOML multi-line string: the whole setting goes
			continue
		}
		b.WriteString(stripUserinfo(line))
	}
	return b.String()
}

// splitConfigLines splits content after every "\n", "\r\n" and lone "\r": npm's
// and yarn's parsers end a line at a lone carriage return too, so a secret after
// one is a line of its own.
func splitConfigLines(content string) []string {
	var out []string
	start := 0
	for i := 0; i < len(content); i++ {
		switch content[i] {
		case '\n':
			out = append(out, content[start:i+1])
			start = i + 1
		case '\r':
			if i+1 < len(content) && content[i+1] == '\n' {
				continue
			}
			out = append(out, content[start:i+1])
			start = i + 1
		}
	}
	if start < len(content) {
		out = append(out, content[start:])
	}
	return out
}

// pemBegin reports a PEM BEGIN line and whether its block is secret (anything but
// a certificate, a CRL or a public key: a CA bundle setting is not a secret).
func pemBegin(line string) (begin, secret bool) {
	i := strings.Index(line, "-----BEGIN ")
	if i < 0 {
		return false, false
	}
	typ := line[i+len("-----BEGIN "):]
	if j := strings.Index(typ, "-----"); j >= 0 {
		typ = typ[:j]
	}
	switch strings.TrimSpace(typ) {
	case "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CRL", "PUBLIC KEY":
		return true, strings.Contains(line, "PRIVATE KEY")
	}
	return true, true
}

// sectionName returns the name of an ini/TOML/gitconfig section header ([x],
// [[x]], [url "…"]).
func sectionName(line string) (string, bool) {
	if !strings.HasPrefix(line, "[") {
		return "", false
	}
	end := strings.LastIndex(line, "]")
	if end < 0 {
		return "", false
	}
	if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return "", false // a YAML or TOML value that starts with [, not a header
	}
	return strings.Trim(line[:end+1], "[] \t"), true
}

// secretSection: a section named like a credential ([credential],
// [credential "https://…"]) or naming a URL with userinfo.
func secretSection(name string) bool {
	if stripUserinfo(name) != name || tokenShape.MatchString(name) {
		return true
	}
	head, _, _ := strings.Cut(name, " ")
	head, _, _ = strings.Cut(head, `"`)
	for _, part := range strings.FieldsFunc(head, func(r rune) bool { return r == '.' }) {
		if secretKeyName(strings.Trim(part, `"' `)) {
			return true
		}
	}
	return false
}

// secretLine: a setting (or a commented-out one) whose key names a secret, an
// Authorization header, or a value shaped like a known token.
func secretLine(line string) bool {
	lower := strings.ToLower(line)
	if strings.Contains(lower, "authorization") || strings.Contains(lower, "extraheader") || tokenShape.MatchString(line) {
		return true
	}
	body := strings.TrimLeft(line, "#;/! \t")
	body = strings.TrimPrefix(body, "- ")
	for _, key := range lineKeys(body) {
		if secretKeyName(key) {
			return true
		}
	}
	return false
}

// lineKeys are the keys a line may set, in any format: before the first "=" (ini,
// npmrc, TOML, gitconfig), before the first ": " or a final ":" (YAML, yarn 1's
// `key value` too), and the keys of an inline table or flow mapping.
func lineKeys(line string) []string {
	var keys []string
	if k, _, ok := strings.Cut(line, "="); ok {
		keys = append(keys, k)
	}
	for i := 0; i < len(line); i++ {
		if line[i] == ':' && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t') {
			keys = append(keys, line[:i])
			break
		}
	}
	if k, _, ok := strings.Cut(line, " "); ok {
		keys = append(keys, k) // yarn 1: key value
	}
	for _, m := range inlineKey.FindAllStringSubmatch(line, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// lineValue is the value part of a setting line (after "=" or ": ").
func lineValue(line string) string {
	if _, v, ok := strings.Cut(line, "="); ok {
		return strings.TrimSpace(v)
	}
	if i := strings.Index(line, ": "); i >= 0 {
		return strings.TrimSpace(line[i+2:])
	}
	return ""
}

// multilineHoldsKey: the rest of a multi-line string (up to its closing q)
// holds a private key block.
func multilineHoldsKey(rest []string, q string) bool {
	for _, l := range rest {
		if begin, secret := pemBegin(l); begin && secret {
			return true
		}
		if strings.Contains(l, q) {
			return false
		}
	}
	return false
}

// tripleQuoteOpened is the TOML multi-line string delimiter a value opens and
// does not close on its line ("" when none).
func tripleQuoteOpened(value string) string {
	for _, q := range []string{`"""`, "'''"} {
		if strings.HasPrefix(value, q) && strings.Count(value, q) == 1 {
			return q
		}
	}
	return ""
}

// bracketDepth is how many [ and { a dropped value leaves open (outside quotes).
func bracketDepth(s string) int {
	depth := 0
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		}
	}
	return depth
}

// secretKeyName: the setting a key names (the last part of a scoped or dotted key:
// //host/:_authToken, registries.x.token, npmScopes.x.npmAuthToken) is a secret.
func secretKeyName(key string) bool {
	key = strings.Trim(strings.TrimSpace(key), `"'`)
	if key == "" {
		return false
	}
	if bundlerHostKey.MatchString(key) && !strings.HasPrefix(key, "BUNDLE_MIRROR__") && !strings.HasPrefix(key, "BUNDLE_BUILD__") {
		return true
	}
	last := key
	if i := strings.LastIndexAny(key, ".:/"); i >= 0 && i+1 < len(key) {
		last = key[i+1:]
	}
	last = strings.Trim(last, `"'`)
	joined := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, last)
	for _, s := range secretSubstrings {
		if strings.Contains(joined, s) {
			return true
		}
	}
	for _, w := range keyWords(last) {
		if secretWords[w] {
			return true
		}
	}
	return false
}

// secretSubstrings are secret names wherever they appear in a key.
var secretSubstrings = []string{"password", "passwd", "passphrase", "token", "secret", "credential",
	"apikey", "privatekey", "accesskey", "authorization", "extraheader", "keyfile", "certfile",
	"clientcert", "clientkey", "httpbasic"}

// secretWords are secret names as a whole word of a key (auth, not author).
var secretWords = map[string]bool{"auth": true, "pass": true, "pwd": true, "username": true, "email": true,
	"ident": true, "login": true}

// keyWords splits a key into lower-case words at punctuation and camelCase
// boundaries: npmAuthToken → npm, auth, token.
func keyWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

var (
	// urlUserinfo matches the user:password@ part of a URL.
	urlUserinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)([^/\s"'<>]+)@`)
	// inlineKey finds the keys of an inline table or flow mapping: { token = "…" }.
	inlineKey = regexp.MustCompile(`[{,]\s*["']?([A-Za-z0-9_.:/-]+)["']?\s*[:=]`)
	// bundlerHostKey is bundler's per-host credential setting (BUNDLE_GEMS__EXAMPLE__COM:
	// "user:pass"); mirrors are settings.
	bundlerHostKey = regexp.MustCompile(`^BUNDLE_[A-Z0-9_-]*__[A-Z0-9_-]+$`)
	// tokenShape matches well-known token formats wherever they appear.
	tokenShape = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|npm_[A-Za-z0-9]{36}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|pypi-AgE[A-Za-z0-9_-]{20,}|sk_live_[A-Za-z0-9]{20,})`)
)

// stripUserinfo removes user:password@ from the URLs of a line, and a lone user
// name too except in ssh URLs (ssh://git@host is an account, not a secret).
func stripUserinfo(line string) string {
	return urlUserinfo.ReplaceAllStringFunc(line, func(m string) string {
		sub := urlUserinfo.FindStringSubmatch(m)
		scheme := strings.ToLower(sub[1])
		if !strings.Contains(sub[2], ":") && strings.Contains(scheme, "ssh") {
			return m
		}
		return sub[1]
	})
}
