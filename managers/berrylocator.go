package managers

import "strings"

// Yarn berry's locators and descriptors as its lockfile and state file spell them
// (berrynooptree.go reads them).

// berrySplitLocator splits "name@ref" ("@scope/name@ref") into its name and
// reference; ok is false when name is not a package name.
func berrySplitLocator(s string) (name, ref string, ok bool) {
	i := strings.Index(s[min(1, len(s)):], "@")
	if i < 0 {
		return "", "", false
	}
	i++
	name, ref = s[:i], s[i+1:]
	if !npmRebuildName.MatchString(name) || ref == "" {
		return "", "", false
	}
	return name, ref, true
}

// berryDevirtualize turns a virtual locator (a package with peer dependencies,
// "name@virtual:HASH#npm:1.0.0") into the locator yarn.lock has.
func berryDevirtualize(locator string) string {
	name, ref, ok := berrySplitLocator(locator)
	if !ok || !strings.HasPrefix(ref, "virtual:") {
		return locator
	}
	_, real, found := strings.Cut(ref, "#")
	if !found {
		return locator
	}
	return name + "@" + real
}

// berryBuiltinPatched are the packages yarn patches itself (its compat plugin):
// every dependency on one, name@npm:RANGE, is resolved as
// name@patch:name@npm%3ARANGE#optional!builtin<compat/name>.
var berryBuiltinPatched = map[string]bool{"typescript": true, "resolve": true, "fsevents": true}

// berryPatchEncode is yarn's encoding of a patch's source descriptor.
var berryPatchEncode = strings.NewReplacer("%", "%25", ":", "%3A", "#", "%23")

// berryBuiltinDescriptor is the descriptor yarn resolves a dependency on a
// builtin-patched package to; "" for any other dependency.
func berryBuiltinDescriptor(name, rng string) string {
	if !berryBuiltinPatched[name] || !strings.HasPrefix(rng, "npm:") {
		return ""
	}
	return name + "@patch:" + berryPatchEncode.Replace(name+"@"+rng) + "#optional!builtin<compat/" + name + ">"
}

// berryBuiltinBase checks a builtin patch's reference
// (patch:NAME@npm%3AVERSION#optional!builtin<compat/NAME>::version=VERSION&hash=HEX)
// and returns the locator of the registry package it patches; "" when it is
// anything else.
func berryBuiltinBase(name, version, ref string) string {
	base := name + "@npm:" + version
	prefix := "patch:" + berryPatchEncode.Replace(base) + "#optional!builtin<compat/" + name + ">::version=" + version + "&hash="
	hash, ok := strings.CutPrefix(ref, prefix)
	if !ok || version == "" || strings.ContainsAny(version, ":/#@&= ") || hash == "" || strings.Trim(hash, "0123456789abcdef") != "" {
		return ""
	}
	return base
}
