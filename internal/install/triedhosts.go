package install

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A build script that needs the network fails in the sandbox; the advice to let it
// through (the policy's script_network) must name the servers it tried, not a
// placeholder. They are read from what the sandbox's proxy refused, else from the
// failing output: resolver and connection errors (node's getaddrinfo ENOTFOUND
// HOST, curl's "Could not resolve host: HOST"), then URLs.

var (
	// hostErrorRE: node (ENOTFOUND/EAI_AGAIN host; ECONNREFUSED host:port), curl,
	// wget, python's urllib and requests.
	hostErrorRE = regexp.MustCompile(`(?:getaddrinfo\s+(?:ENOTFOUND|EAI_AGAIN)\s+|Could not resolve host:\s*|Failed to connect to\s+|unable to resolve host address\s+['‘]?|Resolving\s+|host=['"]?|connect\s+(?:ECONNREFUSED|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\s+)([A-Za-z0-9.\-\[\]:]+?)(?:\s+port\s+(\d+))?(?:['’"]|\.\.\.|,|\s|$)`)
	urlRE       = regexp.MustCompile(`\bhttps?://[A-Za-z0-9.\-\[\]:@%_~]+`)
	hostnameRE  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+$`)
)

// maxTriedHosts bounds the advice.
const maxTriedHosts = 4

// triedHosts returns up to maxTriedHosts "host:port" pairs named in output as
// destinations a script tried (refused ones from the proxy first), in order of
// appearance; loopback and unqualified names are left out.
func triedHosts(refused []string, output string) []string {
	var out []string
	add := func(host, port string) {
		host = strings.ToLower(strings.Trim(host, "[]."))
		if h, p, err := net.SplitHostPort(host); err == nil {
			host, port = h, p
		}
		if port == "" {
			port = "443"
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return
		}
		if ip := net.ParseIP(host); ip != nil {
			if ip.IsLoopback() || ip.IsUnspecified() {
				return
			}
		} else if !hostnameRE.MatchString(host) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return
		}
		hp := net.JoinHostPort(host, port)
		if len(out) < maxTriedHosts && !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	for _, hp := range refused {
		add(hp, "")
	}
	for _, m := range hostErrorRE.FindAllStringSubmatch(output, -1) {
		add(m[1], m[2])
	}
	for _, m := range urlRE.FindAllString(output, -1) {
		u, err := url.Parse(m)
		if err != nil || u.Hostname() == "" {
			continue
		}
		port := u.Port()
		if port == "" && u.Scheme == "http" {
			port = "80"
		}
		add(u.Hostname(), port)
	}
	return out
}
