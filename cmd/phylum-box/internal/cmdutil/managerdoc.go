package cmdutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/managers"
)

// managerLong describes a manager command from its managers.Documented: what is
// intercepted, refused and passed through. The reference pages show it.
func managerLong(name string) string {
	m, _ := managers.Lookup(name)
	d, ok := m.(managers.Documented)
	if !ok {
		return ""
	}
	doc := d.Doc()
	var b strings.Builder
	b.WriteString(WrapText(fmt.Sprintf("Intercepted commands are resolved in the sandbox (network on, install "+
		"scripts off), what they would install is prechecked, then it is downloaded and built in the sandbox (the "+
		"build with the network off). Only the files the command is expected to change are synced back. Refused "+
		"command lines exit with status %d and say what to do instead.", exitcode.Usage), "", DocWidth))

	// Entries that share their explanation are listed together, in table order.
	type group struct {
		variant, text string
		lines         []string
	}
	add := func(groups []*group, variant, text, line string) []*group {
		for _, g := range groups {
			if g.variant == variant && g.text == text {
				g.lines = append(g.lines, line)
				return groups
			}
		}
		return append(groups, &group{variant: variant, text: text, lines: []string{line}})
	}
	section := func(title string, groups []*group) {
		var variants []string
		for _, g := range groups {
			if !slices.Contains(variants, g.variant) {
				variants = append(variants, g.variant)
			}
		}
		for _, v := range variants {
			b.WriteString("\n\n" + title)
			if v != "" {
				b.WriteString(" (" + v + ")")
			}
			b.WriteString(":")
			for _, g := range groups {
				if g.variant != v {
					continue
				}
				for _, l := range g.lines {
					b.WriteString("\n" + WrapText(l, "  ", DocWidth))
				}
				b.WriteString("\n" + WrapText(g.text, "      ", DocWidth))
			}
		}
	}
	var intercepted, refused []*group
	for _, c := range doc.Intercepted {
		words := []string{name}
		if c.Name != "" {
			words = append(words, c.Name)
		}
		line := strings.Join(append(words, c.Args...), " ")
		if len(c.Aliases) > 0 {
			line += " (also " + strings.Join(c.Aliases, ", ") + ")"
		}
		intercepted = add(intercepted, c.Variant, c.How, line)
	}
	for _, r := range doc.Refused {
		refused = add(refused, r.Variant, r.Advice, r.Form)
	}
	section("Intercepted", intercepted)
	section("Refused", refused)
	if len(doc.PassThrough) > 0 {
		var ex []string
		for _, p := range doc.PassThrough {
			ex = append(ex, name+" "+p)
		}
		b.WriteString("\n\n" + WrapText("Everything else runs the real "+name+" unchanged, for example: "+strings.Join(ex, ", ")+".", "", DocWidth))
	}
	if len(doc.Notes) > 0 {
		b.WriteString("\n\nNotes:")
		for _, n := range doc.Notes {
			b.WriteString("\n  - " + strings.TrimPrefix(WrapText(n, "    ", DocWidth), "    "))
		}
	}
	return b.String()
}

// DocWidth is the width of the generated descriptions.
const DocWidth = 80

// WrapText fills text into lines of at most width columns (a longer word stays
// whole), each starting with indent.
func WrapText(text, indent string, width int) string {
	var lines []string
	line := indent
	for _, w := range strings.Fields(text) {
		if line != indent && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}
