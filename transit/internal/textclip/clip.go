// Package textclip shortens text quoted in error messages, which end up in
// logs while the malformed part of an input may be as large as the input.
package textclip

import (
	"strconv"
	"unicode/utf8"
)

// Prefix returns the longest prefix of s of at most n bytes that ends on a
// rune boundary (s itself when it has at most n bytes).
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Message returns msg when it has at most n bytes, else its Prefix of n
// bytes, an ellipsis and its length: "… (message of 1048600 bytes)".
func Message(msg string, n int) string {
	if len(msg) <= n {
		return msg
	}
	return Prefix(msg, n) + "… (message of " + strconv.Itoa(len(msg)) + " bytes)"
}
