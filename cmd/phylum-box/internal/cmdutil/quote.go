package cmdutil

import (
	"strings"
)

// ShQuote single-quotes s for POSIX shells: inside single quotes nothing is
// special, and an embedded quote closes the string, adds an escaped quote and reopens.
func ShQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FishQuote single-quotes s for fish, where \\ and \' are the only escapes in '…'.
func FishQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
