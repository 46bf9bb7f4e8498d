package managers

import (
	"bytes"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
)

// The text of a Plug'n'Play .pnp.cjs as yarn berry (4.x) writes it, rebuilt by
// phylum-box to compare with the file byte for byte (berrypnp.go): .pnp.cjs is
// code node runs, so nothing in it is parsed and trusted — the file must be
// exactly what yarn would write for the state phylum-box computed from yarn.lock.
//
// Layout (yarn's generateInlinedScript): the shebang, a fixed header, the runtime
// state as pretty-printed JSON inside a single-quoted string literal
// (RAW_RUNTIME_STATE), a fixed $$SETUP_STATE function, a newline, then the
// runtime ("the hook"), which the release carries brotli-compressed and base64
// encoded; it is compared with the release's own copy, decompressed here as data.

// berryPnpHeader is what comes before the state's literal.
const berryPnpHeader = "#!/usr/bin/env node\n/* eslint-disable */\n// @ts-nocheck\n\"use strict\";\n\nconst RAW_RUNTIME_STATE =\n"

// berryPnpSetup is what follows the literal, up to the hook.
const berryPnpSetup = ";\n\nfunction $$SETUP_STATE(hydrateRuntimeState, basePath) {\n" +
	"  return hydrateRuntimeState(JSON.parse(RAW_RUNTIME_STATE), {basePath: basePath || __dirname});\n}\n\n"

// berryJSObject is a JSON object whose keys keep the order yarn writes them in.
type berryJSObject struct {
	keys []string
	vals []any
}

func (o *berryJSObject) set(k string, v any) *berryJSObject {
	o.keys, o.vals = append(o.keys, k), append(o.vals, v)
	return o
}

// berryPnpStyle is one state of yarn's generatePrettyJson: whether a value is
// written on one line, and the state of its children by key ("*" for any other).
type berryPnpStyle struct {
	collapsed bool
	next      map[string]string
}

var berryPnpStyles = map[string]berryPnpStyle{
	"DEFAULT":                    {false, map[string]string{"*": "DEFAULT"}},
	"TOP_LEVEL":                  {false, map[string]string{"fallbackExclusionList": "FALLBACK_EXCLUSION_LIST", "packageRegistryData": "PACKAGE_REGISTRY_DATA", "*": "DEFAULT"}},
	"FALLBACK_EXCLUSION_LIST":    {false, map[string]string{"*": "FALLBACK_EXCLUSION_ENTRIES"}},
	"FALLBACK_EXCLUSION_ENTRIES": {true, map[string]string{"*": "FALLBACK_EXCLUSION_DATA"}},
	"FALLBACK_EXCLUSION_DATA":    {true, map[string]string{"*": "DEFAULT"}},
	"PACKAGE_REGISTRY_DATA":      {false, map[string]string{"*": "PACKAGE_REGISTRY_ENTRIES"}},
	"PACKAGE_REGISTRY_ENTRIES":   {true, map[string]string{"*": "PACKAGE_STORE_DATA"}},
	"PACKAGE_STORE_DATA":         {false, map[string]string{"*": "PACKAGE_STORE_ENTRIES"}},
	"PACKAGE_STORE_ENTRIES":      {true, map[string]string{"*": "PACKAGE_INFORMATION_DATA"}},
	"PACKAGE_INFORMATION_DATA":   {false, map[string]string{"packageDependencies": "PACKAGE_DEPENDENCIES", "*": "DEFAULT"}},
	"PACKAGE_DEPENDENCIES":       {false, map[string]string{"*": "PACKAGE_DEPENDENCY"}},
	"PACKAGE_DEPENDENCY":         {true, map[string]string{"*": "DEFAULT"}},
}

// berryPnpJSON writes v the way yarn's generatePrettyJson does.
func berryPnpJSON(v any) string {
	var b strings.Builder
	berryPnpValue(&b, v, "TOP_LEVEL", "")
	return b.String()
}

// berryPnpChild writes a child value: its style follows from the parent's and
// the key, and the indentation yarn puts before it is dropped (the caller wrote
// its own).
func berryPnpChild(b *strings.Builder, key string, v any, style, indent string) {
	next := berryPnpStyles[style].next
	s, ok := next[key]
	if !ok {
		s = next["*"]
	}
	var c strings.Builder
	berryPnpValue(&c, v, s, indent)
	b.WriteString(strings.TrimLeft(c.String(), " "))
}

func berryPnpValue(b *strings.Builder, v any, style, indent string) {
	collapsed := berryPnpStyles[style].collapsed
	switch v := v.(type) {
	case []any:
		if collapsed {
			b.WriteString("[")
			for i, e := range v {
				berryPnpChild(b, strconv.Itoa(i), e, style, indent)
				if i+1 < len(v) {
					b.WriteString(", ")
				}
			}
			b.WriteString("]")
			return
		}
		inner := indent + "  "
		b.WriteString(indent + "[\n")
		for i, e := range v {
			b.WriteString(inner)
			berryPnpChild(b, strconv.Itoa(i), e, style, inner)
			if i+1 < len(v) {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	case *berryJSObject:
		if collapsed {
			b.WriteString("{")
			for i, k := range v.keys {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(berryJSString(k) + ": ")
				berryPnpChild(b, k, v.vals[i], style, indent)
			}
			b.WriteString("}")
			return
		}
		inner := indent + "  "
		b.WriteString(indent + "{\n")
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner + berryJSString(k) + ": ")
			berryPnpChild(b, k, v.vals[i], style, inner)
		}
		if len(v.keys) > 0 {
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case string:
		b.WriteString(berryJSString(v))
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default:
		panic("berryPnpValue: unexpected type")
	}
}

// berryJSString is JavaScript's JSON.stringify of a string (valid UTF-8): quotes and
// backslashes escaped, control characters as \b \f \n \r \t or \u00xx, every
// other character as itself (no HTML escaping, unlike encoding/json).
func berryJSString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// berryPnpLiteral is yarn's single-quoted string literal of s: backslashes and
// quotes escaped, each newline continued with a backslash.
func berryPnpLiteral(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	s = strings.ReplaceAll(s, "\n", "\\\n")
	return "'" + s + "'"
}

// berryPnpScriptHead is the whole .pnp.cjs up to the hook for the state.
func berryPnpScriptHead(state *berryJSObject) string {
	return berryPnpHeader + berryPnpLiteral(berryPnpJSON(state)) + berryPnpSetup
}

// berryPnpDiff says where got first differs from want, for the reason a check
// gives ("line 12").
func berryPnpDiff(got, want []byte) string {
	n := min(len(got), len(want))
	i := 0
	for i < n && got[i] == want[i] {
		i++
	}
	line := 1 + bytes.Count(got[:i], []byte("\n"))
	return "line " + strconv.Itoa(line)
}

// berryBrotliMarker begins each brotli-compressed, base64-encoded text of a yarn
// release: Ae("zlib").brotliDecompressSync(Buffer.from("…","base64")).
var berryBrotliMarker = []byte(`brotliDecompressSync(Buffer.from("`)

// berryReleaseHasHook says whether hook (the .pnp.cjs after its setup function)
// is, byte for byte, one of the compressed texts of the release — the runtime
// that release writes — and is a PnP runtime at all. The release is read as
// data: its blobs are base64-decoded and decompressed, each only as far as it
// agrees with hook.
func berryReleaseHasHook(release, hook []byte) bool {
	if !bytes.Contains(hook, []byte("$$SETUP_STATE(hydrateRuntimeState")) {
		return false
	}
	return berryReleaseHasText(release, hook)
}

// berryPnpLoaderHead begins yarn's ESM loader (.pnp.loader.mjs).
const berryPnpLoaderHead = "/* eslint-disable */\n// @ts-nocheck\n\nimport "

// berryReleaseHasLoader says whether loader is, byte for byte, the ESM loader
// the release carries (compressed like the runtime).
func berryReleaseHasLoader(release, loader []byte) bool {
	if !bytes.HasPrefix(loader, []byte(berryPnpLoaderHead)) || bytes.Contains(loader, []byte("$$SETUP_STATE(")) {
		return false
	}
	return berryReleaseHasText(release, loader)
}

// berryReleaseHasText says whether text is one of the release's compressed texts.
func berryReleaseHasText(release, text []byte) bool {
	if !utf8.Valid(text) {
		return false
	}
	hook := text
	rest := release
	for {
		i := bytes.Index(rest, berryBrotliMarker)
		if i < 0 {
			return false
		}
		rest = rest[i+len(berryBrotliMarker):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return false
		}
		blob := rest[:end]
		rest = rest[end:]
		if !bytes.HasPrefix(rest, []byte(`","base64")`)) {
			continue
		}
		if berryBlobIs(blob, hook) {
			return true
		}
	}
}

// berryBlobIs decompresses the base64 blob and compares it with want as it goes.
func berryBlobIs(blob, want []byte) bool {
	r := brotli.NewReader(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(blob)))
	buf := make([]byte, 32<<10)
	off := 0
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if off+n > len(want) || !bytes.Equal(buf[:n], want[off:off+n]) {
				return false
			}
			off += n
		}
		if err == io.EOF {
			return off == len(want)
		}
		if err != nil {
			return false
		}
	}
}
