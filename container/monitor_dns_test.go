package container

import (
	"encoding/binary"
	"strings"
	"testing"
)

// query builds a DNS query message for name (labels as given) and type.
func query(qtype uint16, labels ...string) []byte {
	m := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range labels {
		m = append(m, byte(len(l)))
		m = append(m, l...)
	}
	m = append(m, 0)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(m, qtype), 1)
}

func TestParseDNSQuery(t *testing.T) {
	long := strings.Repeat("a", 63)
	ptrLoop := append(query(1, "x")[:12], 0xc0, 12, 0, 1, 0, 1)
	forward := append(query(1, "x")[:12], 0xc0, 20, 0, 1, 0, 1, 0, 0, 1, 'y', 0)
	cases := []struct {
		name     string
		msg      []byte
		want, ty string
		ok       bool
	}{
		{"a query", query(1, "exfil", "example", "com"), "exfil.example.com", "A", true},
		{"aaaa", query(28, "registry", "npmjs", "org"), "registry.npmjs.org", "AAAA", true},
		{"unknown type", query(4242, "x"), "x", "TYPE4242", true},
		{"the root", query(2), ".", "NS", true},
		{"bytes escaped", query(16, "a.b\x00\xff"), `a\046b\000\255`, "TXT", true},
		{"63-byte labels", query(1, long, long, long), long + "." + long + "." + long, "A", true},
		{"name over 255 bytes", query(1, long, long, long, long), "", "", false},
		{"label length 64 is a reserved type", append(query(1)[:12], 0x40, 'x', 0, 0, 1, 0, 1), "", "", false},
		{"a response", func() []byte { m := query(1, "x"); m[2] |= 0x80; return m }(), "", "", false},
		{"no question", func() []byte { m := query(1, "x"); m[5] = 0; return m }(), "", "", false},
		{"header only", query(1, "x")[:12], "", "", false},
		{"cut in a label", query(1, "exfil", "example")[:15], "", "", false},
		{"cut before the type", query(1, "x")[:15], "", "", false},
		{"short", []byte{1, 2, 3}, "", "", false},
		{"empty", nil, "", "", false},
		{"pointer to itself", ptrLoop, "", "", false},
		{"pointer forwards", forward, "", "", false},
		{"pointer into the header", append(query(1)[:12], 0xc0, 2, 0, 1, 0, 1), "", "", false},
		{"pointer cut", append(query(1)[:12], 0xc0), "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, ty, ok := parseDNSQuery(tc.msg)
			if ok != tc.ok || name != tc.want || ty != tc.ty {
				t.Errorf("parseDNSQuery = %q %q %v, want %q %q %v", name, ty, ok, tc.want, tc.ty, tc.ok)
			}
		})
	}
	// In the first question a pointer can only point back into the name
	// itself: it loops, and the loop ends.
	m := append(query(1)[:12:12], 3, 'b', 'a', 'r', 0xc0, 12, 0, 1, 0, 1)
	if name, _, ok := parseDNSQuery(m); ok {
		t.Errorf("a pointer back into its own name was read as %q", name)
	}
}

// Every prefix and every single-byte change of a real query is read without a
// panic, and what is read is never longer than a name can be.
func TestParseDNSQueryFuzzish(t *testing.T) {
	base := query(1, "0123456789abcdef0123456789abcdef", "exfil", "example")
	for n := 0; n <= len(base); n++ {
		parseDNSQuery(base[:n])
	}
	for i := range base {
		for _, v := range []byte{0, 1, 0x3f, 0x40, 0x80, 0xc0, 0xc1, 0xff} {
			m := append([]byte(nil), base...)
			m[i] = v
			if name, _, ok := parseDNSQuery(m); ok && len(name) > 4*255 {
				t.Fatalf("byte %d = %#x: a %d-byte name", i, v, len(name))
			}
		}
	}
}

func FuzzParseDNSQuery(f *testing.F) {
	f.Add(query(1, "exfil", "example", "com"))
	f.Add(append(query(1)[:12], 0xc0, 12, 0, 1, 0, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if name, _, ok := parseDNSQuery(b); ok && len(name) > 4*255 {
			t.Fatalf("a %d-byte name", len(name))
		}
	})
}
