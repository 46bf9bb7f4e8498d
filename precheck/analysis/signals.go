package analysis

import (
	"bytes"
	"regexp"
	"sync"
)

// lang is the language a unit's text is read as; a unit can be read as several
// (an npm hook string is both shell and, after `node -e`, JavaScript).
type lang uint8

const (
	langJS lang = 1 << iota
	langPy
	langRuby
	langRust
	langShell
	langAll = langJS | langPy | langRuby | langRust | langShell
)

// sig is one kind of signal; findings come from how signals combine.
type sig uint8

const (
	sChain       sig = iota // a decode directly inside an eval-like call
	sDecode                 // base64/hex/charcode/compression decoding
	sSink                   // eval-like: runs a string as code
	sNetwork                // opens a connection, resolves a name, makes a request
	sEnvSer                 // serialises the whole environment
	sHostFacts              // host name, user name, network interfaces
	sCredStrong             // a service's credential file (ssh keys, cloud, registry, docker, kube)
	sCredStealer            // browser login data, wallets, keychains, shell histories
	sTokenName              // a registry or cloud token's variable name
	sCredWeak               // package-manager config that may hold a token
	sPipeShell              // downloads and pipes into a shell (curl | sh, iwr | iex, certutil)
	sDownloader             // runs curl/wget on a URL
	sSpawn                  // starts a process
	sWrite                  // writes a file
	sChmod                  // makes a file executable
	sWebhook                // a Discord/Telegram webhook with its token
	sExfilHost              // an out-of-band/collector/what-is-my-IP service
	sRawIP                  // a URL to a public IP address
	sObfuscated             // javascript-obfuscator identifiers (_0x1a2b), many
	sRotation               // javascript-obfuscator's string-array rotation
	sBlob                   // a long base64/hex literal
	sLongLine               // a very long line (minified)
)

// patternSource is a row of the table as written: what a signal looks like.
type patternSource struct {
	kind  sig
	langs lang
	expr  string // an RE2 expression
	// ok, when set, confirms a match (what RE2 cannot say: no lookbehind).
	ok func(text []byte, loc []int, m *memo) bool
	// keys are literals ("|"-separated) one of which every match contains, at most
	// windowBefore bytes after the match's start: in a large file the expression
	// only runs around them (see findAll).
	keys string
	// need, when set, are literals ("|"-separated) one of which every match
	// contains: a window without any of them cannot match and is not searched.
	need string
}

// pattern is a row of the table with its expression compiled.
type pattern struct {
	patternSource
	re *regexp.Regexp
}

// patterns is the table compiled, when the first unit is scanned: compiling it
// costs ~10 ms of CPU, and most starts of this binary analyse nothing (a warm
// install finds every package's findings in its cache).
var patterns = sync.OnceValue(func() []pattern {
	ps := make([]pattern, len(patternSources))
	for i, src := range patternSources {
		ps[i] = pattern{src, regexp.MustCompile(src.expr)}
	}
	return ps
})

var patternSources = []patternSource{
	// JavaScript.
	{sChain, langJS, `\b(?:eval|Function|runInNewContext|runInThisContext|runInContext|compileFunction|_compile)\s*\(\s*(?:atob\s*\(|Buffer\.from\s*\(|new\s+Buffer\s*\(|String\.fromCharCode|unescape\s*\(|decodeURIComponent\s*\(|(?:\w+\.)?(?:inflate|gunzip|inflateRaw|brotliDecompress|unzip)Sync\s*\()`, nil, `atob|Buffer.from|new Buffer|fromCharCode|unescape|decodeURIComponent|inflateSync|gunzipSync|inflateRawSync|brotliDecompressSync|unzipSync`, ""},
	{sSink, langJS, `\beval\s*\(`, evalCall, `eval`, ""},
	{sSink, langJS, `\bFunction\s*\(`, functionCall, `Function`, ""},
	{sSink, langJS, `\bvm\.(?:runIn\w+|compileFunction)\s*\(|new\s+vm\.Script\s*\(|\brunIn(?:New|This)?Context\s*\(|\[\s*['"]eval['"]\s*\]\s*\(|\(\s*0\s*,\s*eval\s*\)|\._compile\s*\(\s*[^'"\s)]`, nil, `vm.|runIn|'eval'|"eval"|eval)|_compile`, ""},
	{sDecode, langJS, `\batob\s*\(|,\s*['"](?:base64|hex|base64url)['"]\s*\)|fromCharCode\s*(?:\.apply\b|\(\s*\.\.\.|\(\s*(?:\d+\s*,\s*){8})|\b(?:inflate|gunzip|inflateRaw|brotliDecompress|unzip)Sync\s*\(|\bunescape\s*\(`, notShadowed, `atob|base64'|base64"|hex'|hex"|base64url|fromCharCode|inflateSync|gunzipSync|inflateRawSync|brotliDecompressSync|unzipSync|unescape`, ""},
	{sNetwork, langJS, `\b(?:https?|http2|net|tls|dns|dgram)\.(?:request|get|connect|createConnection|lookup|resolve\w*|createSocket)\s*\(|\bfetch\s*\(|require\s*\(\s*['"](?:node:)?(?:https?|http2|net|tls|dns|dgram|axios|node-fetch|got|request|undici|superagent|needle)['"]\s*\)|\bfrom\s*['"](?:node:)?(?:https?|http2|net|tls|dns|dgram|axios|node-fetch|got|undici)['"]|new\s+(?:WebSocket|XMLHttpRequest)\b`, nil, `http.|https.|http2.|http'|http"|https'|https"|http2'|http2"|net.|net'|net"|tls.|tls'|tls"|dns.|dns'|dns"|dgram|fetch|axios|got'|got"|request'|request"|undici|superagent|needle|WebSocket|XMLHttpRequest`, ""},
	{sEnvSer, langJS, `\b(?:stringify|entries|values)\s*\(\s*process\.env\s*[,)]|\bstringify\s*\(\s*\{[^}]{0,80}(?:\.\.\.|:\s*)process\.env\s*[,}]|\bfor\s*\(\s*(?:const|let|var)?\s*[\w$]+\s+in\s+process\.env\s*\)`, nil, `process.env`, ""},
	{sHostFacts, langJS, `(?:\bos|require\s*\(\s*['"](?:node:)?os['"]\s*\))\.(?:hostname|userInfo|networkInterfaces)\s*\(`, nil, `hostname|userInfo|networkInterfaces`, ""},
	{sSpawn, langJS, `\b(?:execSync|spawnSync|execFileSync|execFile|spawn|exec)\s*\(`, notMethodOfRegexp, `exec|spawn`, ""},
	{sWrite, langJS, `\b(?:writeFileSync|writeFile|createWriteStream|copyFileSync)\s*\(`, nil, `writeFile|createWriteStream|copyFileSync`, ""},
	{sChmod, langJS, `\bchmod(?:Sync)?\s*\(`, nil, `chmod`, ""},

	// Python.
	{sChain, langPy, `\b(?:exec|eval)\s*\(\s*(?:compile\s*\(\s*)?(?:base64\.|b64decode|codecs\.decode|zlib\.decompress|marshal\.loads|bytes\.fromhex|binascii\.|__import__\s*\(\s*['"](?:base64|zlib|codecs|marshal|binascii)['"])`, nil, `exec|eval`, ""},
	{sSink, langPy, `(?:^|[^.\w])(?:exec|eval|compile)\s*\(|__import__\s*\(\s*['"]builtins['"]\s*\)\s*\.\s*exec`, nil, `exec|eval|compile`, ""},
	{sDecode, langPy, `\b(?:b64decode|b32decode|b16decode|a85decode|b85decode|decodebytes|a2b_base64|unhexlify)\s*\(|\bbytes\.fromhex\s*\(|\bcodecs\.decode\s*\(|\b(?:zlib|lzma|bz2|gzip)\.decompress\s*\(|\bmarshal\.loads\s*\(|['"]rot_?13['"]`, nil, `decode|b64|b32|b16|a85|b85|a2b|unhexlify|fromhex|decompress|loads|rot`, ""},
	{sNetwork, langPy, `\burllib\.request\b|\burllib2\b|\burlopen\s*\(|\burlretrieve\s*\(|\brequests\.(?:get|post|put|request|Session)\b|\bhttp\.client\b|\bhttplib\b|\bsocket\.(?:socket|create_connection|gethostbyname|getaddrinfo)\s*\(|\bhttpx\.|\baiohttp\b|\bsmtplib\b|\bftplib\b|\bdns\.resolver\b`, nil, `urllib|urlopen|urlretrieve|requests.|http|httplib|socket|httpx|aiohttp|smtplib|ftplib|dns`, ""},
	{sEnvSer, langPy, `\b(?:dict|str|repr|json\.dumps|urlencode)\s*\(\s*(?:dict\s*\(\s*)?os\.environ\b|\bos\.environ\.items\s*\(`, nil, `os.environ`, ""},
	{sHostFacts, langPy, `\bsocket\.gethostname\s*\(|\bgetpass\.getuser\s*\(|\bplatform\.node\s*\(|\bos\.getlogin\s*\(|\buuid\.getnode\s*\(`, nil, `gethostname|getuser|platform.node|getlogin|getnode`, ""},
	{sSpawn, langPy, `__import__\s*\(\s*['"](?:os|subprocess|pty)['"]\s*\)\s*\.\s*\w+\s*\(|\bsubprocess\.\w+\s*\(|\bos\.(?:system|popen|exec\w*|spawn\w*)\s*\(|\bpty\.spawn\s*\(`, nil, `subprocess|os.|pty|__import__`, ""},
	{sWrite, langPy, `\bopen\s*\([^)\n]{0,200}['"][wa]b?\+?['"]|\.write_bytes\s*\(|\burlretrieve\s*\(`, nil, `open|write_bytes|urlretrieve`, ""},
	{sChmod, langPy, `\bos\.chmod\s*\(|\bS_IX(?:USR|GRP|OTH)\b|\bS_IEXEC\b`, nil, `chmod|S_IX|S_IEXEC`, ""},

	// Ruby.
	{sChain, langRuby, `\b(?:eval|instance_eval|class_eval|module_eval)\s*\(?\s*(?:Base64\.|Zlib::|\[\s*['"][^'"\n]*['"]\s*\]\s*\.pack\s*\(|['"][^'"\n]*['"]\s*\.unpack1?\s*\()`, nil, `eval`, ""},
	{sSink, langRuby, `(?:^|[^.\w])(?:eval|instance_eval|class_eval|module_eval)\s*[( ]\s*[^{d\s]`, nil, `eval`, ""},
	{sDecode, langRuby, `\bBase64\.(?:decode64|strict_decode64|urlsafe_decode64)\b|\.unpack1?\s*\(\s*['"][mHu]|\.pack\s*\(\s*['"]H\*|\bZlib::Inflate\b|\bZlib\.inflate\b`, nil, `Base64|unpack|pack|Zlib`, ""},
	{sNetwork, langRuby, `\bNet::HTTP\b|['"]open-uri['"]|\bURI\.open\b|\bTCPSocket\b|\bUDPSocket\b|\bResolv\b|\bHTTParty\b|\bFaraday\b|\bRestClient\b|\bExcon\b|\bSocket\.tcp\b`, nil, `Net::HTTP|open-uri|URI.open|Socket|Resolv|HTTParty|Faraday|RestClient|Excon`, ""},
	{sEnvSer, langRuby, `\bENV\.(?:to_h|to_hash|to_a|inspect|to_s|each|map|select|sort|keys)\b`, nil, `ENV.`, ""},
	{sHostFacts, langRuby, `\bSocket\.gethostname\b|\bEtc\.getlogin\b|\bEtc\.getpwuid\b|` + "`(?:whoami|hostname)`", nil, `gethostname|Etc.|whoami|hostname`, ""},
	{sSpawn, langRuby, `(?:^|[^.\w])(?:system|exec|spawn)\s*[( ]|\bIO\.popen\b|\bOpen3\.|%x[({\[]|` + "`[^`\n]+`", nil, "system|exec|spawn|popen|Open3|%x|`", ""},
	{sWrite, langRuby, `\bFile\.(?:write|binwrite)\b|\bFile\.open\s*\([^)\n]*['"]wb?['"]|\bIO\.copy_stream\b`, nil, `File.|IO.copy_stream`, ""},
	{sChmod, langRuby, `\bFile\.chmod\b|\bFileUtils\.chmod\b|\bchmod\s*\(`, nil, `chmod`, ""},

	// Rust (build.rs and proc-macros run at build time).
	{sSink, langRust, `Command::new\s*\(\s*[^"\s]|\blibloading::|\bdlopen\s*\(`, nil, `Command::new|libloading|dlopen`, ""},
	{sDecode, langRust, `\bbase64::\w|\bhex::decode\b|\bdata_encoding::|\bflate2::read::\w*Decoder\b`, nil, `base64::|hex::decode|data_encoding|flate2`, ""},
	{sNetwork, langRust, `\bstd::net\b|\bTcpStream\b|\bUdpSocket\b|\breqwest::|\bureq::|\bcurl::|\bhyper::|\battohttpc::|\bminreq::|\bToSocketAddrs\b`, nil, `std::net|TcpStream|UdpSocket|reqwest|ureq|curl|hyper|attohttpc|minreq|ToSocketAddrs`, ""},
	{sEnvSer, langRust, `\benv::vars(?:_os)?\s*\(\s*\)`, nil, `env::vars`, ""},
	{sHostFacts, langRust, `\bgethostname\b|\bwhoami::|\bhostname::get\b|\busers::get_current`, nil, `gethostname|whoami|hostname|users::`, ""},
	{sSpawn, langRust, `\bCommand::new\s*\(`, nil, `Command::new`, ""},
	{sWrite, langRust, `\bfs::write\s*\(|\bFile::create\s*\(`, nil, `fs::write|File::create`, ""},
	{sChmod, langRust, `\bset_permissions\b|\bfrom_mode\s*\(\s*0o7`, nil, `set_permissions|from_mode`, ""},

	// Shell (npm hook strings, scripts they run, binding.gyp command expansions).
	{sDecode, langShell, `\bbase64\s+(?:-d|--decode|-D)\b|\bxxd\s+-r\b`, nil, `base64|xxd`, ""},
	{sSink, langShell, `(?:^|[;&|(]\s*)eval\s|\b(?:ba|z)?sh\s+-c\s`, nil, `eval|sh`, ""},
	{sNetwork, langShell, `\b(?:curl|wget|nc|ncat|netcat|nslookup|dig)\s+\S|/dev/(?:tcp|udp)/`, nil, `curl|wget|nc|ncat|netcat|nslookup|dig|/dev/`, ""},
	{sEnvSer, langAll, `(?:^|[;&('"` + "`" + `]\s*)(?:env|printenv)\s*\|[^|]|\$\(\s*(?:env|printenv)\s*\)|` + "`(?:env|printenv)`", nil, `env`, ""},
	{sHostFacts, langAll, `\$\(\s*(?:whoami|hostname|id)\s*\)|` + "`(?:whoami|hostname|id)`", nil, `whoami|hostname|id`, "$(|`"},
	{sWrite, langShell, `\b(?:curl|wget)\b[^\n|;&]*\s(?:-o|-O|--output|--output-document)\s*\S`, nil, `curl|wget`, ""},
	{sChmod, langShell, `\bchmod\s+(?:[ugoa]*\+x|[0-7]*[1357][0-7]{0,2})\b`, nil, `chmod`, ""},

	// Any language: these are strings whatever code holds them.
	{sPipeShell, langAll, `\b(?:curl|wget)\b[^\n|;&'"]{0,300}\|\s*(?:sudo\s+)?(?:/bin/|/usr/bin/)?(?:ba|z|da|k)?sh\b|\b(?:curl|wget)\b[^\n]{0,300}\s(?:-o|-O|>)\s*\S+\s*(?:&&|;)\s*(?:chmod\s+\+?[x0-7]|(?:ba)?sh\s|\./|/tmp/)|\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString|DownloadFile)\b[^\n]{0,300}(?:\|\s*(?:iex|Invoke-Expression)\b|Start-Process)|\b(?:iex|Invoke-Expression)\s*\(?\s*\(?\s*(?:New-Object\s+(?:System\.)?Net\.WebClient|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)|\bcertutil(?:\.exe)?\s+[^\n]{0,40}-urlcache|\bbitsadmin(?:\.exe)?\s+/transfer|\bmshta(?:\.exe)?\s+https?:|\bpowershell(?:\.exe)?\b[^\n]{0,60}\s-(?:e|ec|enc|encodedcommand)\s+[A-Za-z0-9+/=]{20,}|\bbase64\s+(?:-d|--decode|-D)\b[^\n]{0,80}\|\s*(?:ba|z)?sh\b|/dev/tcp/\d`, nil, `curl|wget|iwr|irm |Invoke-|DownloadString|DownloadFile|iex|certutil|bitsadmin|mshta|powershell|base64 -|/dev/tcp`, ""},
	{sDownloader, langAll, `\b(?:curl|wget)\s[^\n|;&'"]{0,200}?https?://|\bInvoke-WebRequest\b`, nil, `curl|wget|Invoke-WebRequest`, ""},
	{sWebhook, langAll, `discord(?:app)?\.com/api/webhooks/\d{5,}/[\w-]{20,}|api\.telegram\.org/bot\d{5,}:[\w-]{20,}`, nil, `discord|telegram`, ""},
	{sExfilHost, langAll, `(?:://|[\w-]\.)(?:[\w-]+\.)*(?:oast\.(?:fun|pro|live|site|online|me)|oastify\.com|burpcollaborator\.net|interact\.sh|webhook\.site|pipedream\.net|requestbin\.(?:com|net)|ngrok(?:-free)?\.(?:io|app|dev)|dnslog\.cn|ceye\.io|canarytokens\.com|transfer\.sh|pastebin\.com/raw|ipinfo\.io|ifconfig\.me|api\.ipify\.org|hookbin\.com|beeceptor\.com|freegeoip\.app|ip-api\.com|ipapi\.co|icanhazip\.com)\b`, nil, `oast|burpcollaborator|interact.sh|webhook.site|pipedream|requestbin|ngrok|dnslog|ceye|canarytokens|transfer.sh|pastebin|ipinfo|ifconfig.me|ipify|hookbin|beeceptor|freegeoip|ip-api|ipapi|icanhazip`, ""},
	{sRawIP, langAll, `\bhttps?://(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}\b`, publicIP, `://`, ""},
	// Service credentials: what a client of that service also reads (awscli, docker, twine, ssh clients).
	{sCredStrong, langAll, `\.ssh[/\\]+(?:id_|authorized_keys)|['"]id_(?:rsa|dsa|ecdsa|ed25519)['"]|\.aws[/\\]+credentials|\.git-credentials|\.config[/\\]+gh[/\\]|\.docker[/\\]+config\.json|\.kube[/\\]+config|\.pypirc\b|\.gem[/\\]+credentials|\.cargo[/\\]+credentials|\.gnupg|['"]\.(?:ssh|aws|gnupg|kube|docker|netrc)['"]`, nil, `.ssh|id_rsa|id_dsa|id_ecdsa|id_ed25519|.aws|.git-credentials|gh/|gh\|.docker|.kube|.pypirc|credentials|.gnupg|.netrc`, ""},
	// What only a stealer reads: browser logins and storage, wallets, keychains, shell histories.
	{sCredStealer, langAll, `Login Data|Local Storage[/\\]+leveldb|wallet\.dat|\.config[/\\]+solana|Library[/\\]+Keychains|login\.keychain|\.bash_history|\.zsh_history|/etc/shadow|nkbihfbeogaeaoehlefnkodbefgpgknn|\bExodus[/\\]|\bElectrum[/\\]`, nil, `Login Data|Local Storage|wallet.dat|solana|Keychains|login.keychain|_history|/etc/shadow|nkbihfbeogaeaoehlefnkodbefgpgknn|Exodus|Electrum`, ""},
	// Token variables and keys: install scripts downloading from GitHub use GITHUB_TOKEN.
	{sTokenName, langAll, `\b(?:_authToken|NPM_TOKEN|NODE_AUTH_TOKEN|GITHUB_TOKEN|GH_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|PYPI_TOKEN|TWINE_PASSWORD|CARGO_REGISTRY_TOKEN|GEM_HOST_API_KEY)\b`, nil, `_authToken|NPM_TOKEN|NODE_AUTH_TOKEN|GITHUB_TOKEN|GH_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|PYPI_TOKEN|TWINE_PASSWORD|CARGO_REGISTRY_TOKEN|GEM_HOST_API_KEY`, ""},
	{sCredWeak, langAll, `\.npmrc\b|\.yarnrc\b|\.netrc\b`, nil, `.npmrc|.yarnrc|.netrc`, ""},
}

// evalCall is a direct eval whose argument is not a string literal (eval("require")
// hides require from bundlers) and which is not a method (redis.eval, page.$eval).
func evalCall(text []byte, loc []int, _ *memo) bool {
	if loc[0] > 0 {
		if c := text[loc[0]-1]; c == '.' || c == '$' {
			return false
		}
	}
	i := skipSpace(text, loc[1])
	return i < len(text) && !isQuote(text[i]) && text[i] != ')'
}

// functionCall is Function(...)/new Function(...) with any argument that is not a
// string literal: Function("return this")() is how old code finds the global object.
func functionCall(text []byte, loc []int, _ *memo) bool {
	if loc[0] > 0 && text[loc[0]-1] == '.' {
		return false
	}
	i := loc[1]
	for {
		i = skipSpace(text, i)
		if i >= len(text) {
			return false
		}
		if text[i] == ')' {
			return false
		}
		if !isQuote(text[i]) {
			return true
		}
		q := text[i]
		for i++; i < len(text) && text[i] != q; i++ {
			if text[i] == '\\' {
				i++
			}
		}
		i = skipSpace(text, i+1)
		if i < len(text) && text[i] == ',' {
			i++
			continue
		}
		return i < len(text) && text[i] != ')'
	}
}

// notMethodOfRegexp drops /re/.exec(s) and obj.exec(...) style method calls that
// are not child_process (cp.exec and child_process.exec are kept).
func notMethodOfRegexp(text []byte, loc []int, _ *memo) bool {
	if loc[0] == 0 || text[loc[0]-1] != '.' {
		return true
	}
	j := loc[0] - 1
	k := j
	for k > 0 && isWord(text[k-1]) {
		k--
	}
	recv := string(text[k:j])
	switch recv {
	case "child_process", "cp", "childProcess", "child", "proc", "shell", "shelljs":
		return true
	}
	return false
}

// shadowing are the global decoders a file may declare a function or variable
// of the same name for (see declares).
var shadowing = map[string]bool{"atob": true, "unescape": true}

// declares reports whether text declares name as `function NAME(`, or
// `var|let|const NAME =`/`(`: what the regular expression
// (?:\bfunction\s+|\b(?:var|let|const)\s+)NAME\s*[(=] matches, found from each
// occurrence of name (RE2 has no literal to skip ahead with in front of it, and
// ran over the whole file). TestDeclaresIsTheRegexp holds the two equal.
func declares(text []byte, name string) bool {
	nb := []byte(name)
	for off := 0; off < len(text); {
		i := bytes.Index(text[off:], nb)
		if i < 0 {
			return false
		}
		p := off + i
		off = p + 1
		// \s+ in front: the whole run of spaces (the keyword ends before it).
		k := p
		for k > 0 && isRESpace(text[k-1]) {
			k--
		}
		if k == p {
			continue
		}
		// \s*[(=] behind.
		j := p + len(nb)
		for j < len(text) && isRESpace(text[j]) {
			j++
		}
		if j >= len(text) || text[j] != '(' && text[j] != '=' {
			continue
		}
		for _, kw := range []string{"function", "var", "let", "const"} {
			s := k - len(kw)
			if s >= 0 && string(text[s:k]) == kw && (s == 0 || !isREWord(text[s-1])) {
				return true
			}
		}
	}
	return false
}

// isRESpace and isREWord are RE2's \s and \w.
func isRESpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func isREWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// notShadowed confirms a call of atob or unescape when the file does not declare
// its own function of that name: axe-core's template compiler (doT) declares
// `function unescape(code)` (a regexp replace) and calls it next to a
// `new Function(…)`, which is no decoding. The other decoders pass.
func notShadowed(text []byte, loc []int, m *memo) bool {
	k := loc[0]
	for k < len(text) && isWord(text[k]) {
		k++
	}
	name := string(text[loc[0]:k])
	if !shadowing[name] {
		return true
	}
	// The answer is the whole file's: asked once per file, not once per call.
	shadowed, ok := m.shadowed[name]
	if !ok {
		shadowed = declares(text, name)
		if m.shadowed == nil {
			m.shadowed = map[string]bool{}
		}
		m.shadowed[name] = shadowed
	}
	return !shadowed
}

// memo keeps what a pattern's check learnt about the whole text it is run on.
type memo struct {
	shadowed map[string]bool
}

func publicIP(text []byte, loc []int, _ *memo) bool {
	a := atoi(text[loc[2]:loc[3]])
	b := atoi(text[loc[4]:loc[5]])
	switch {
	case a == 0, a == 10, a == 127, a > 223:
		return false
	case a == 169 && b == 254, a == 172 && b >= 16 && b < 32, a == 192 && b == 168:
		return false
	}
	return true
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func skipSpace(text []byte, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i++
	}
	return i
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func isWord(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
