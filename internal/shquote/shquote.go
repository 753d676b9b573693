// Package shquote quotes words for POSIX sh and fish, so that any path or
// argument survives eval or a copied command line.
//
// It only quotes; it must not run shells or build environments.
package shquote

import "strings"

// shellSafe reports whether s needs no quoting in sh or fish.
func shellSafe(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-+=@%:,./", c) >= 0) {
			return false
		}
	}
	return true
}

// Sh quotes s as one word for POSIX sh: unchanged when it holds
// only characters that need no quoting, else in single quotes, where each
// single quote in s becomes a closing quote, an escaped quote and an
// opening quote:
//
//	it's -> 'it'\''s'
func Sh(s string) string {
	if shellSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Fish quotes s as one word for fish, whose single quotes treat \'
// and \\ as escapes.
func Fish(s string) string {
	if shellSafe(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// Join quotes each word with Sh and joins them with spaces: one
// line a POSIX shell splits back into words.
func Join(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Sh(w)
	}
	return strings.Join(q, " ")
}
