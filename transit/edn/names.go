package edn

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Character classes of the reader, as clojure.tools.reader.edn (the reader
// of Sente's EDN packer) defines them.

// isSpace reports whether r separates forms: Java's
// Character.isWhitespace, or a comma.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiSpace[r]
	}
	switch r {
	case 0x1680, 0x2028, 0x2029, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A && r != 0x2007 // U+2007 is a non-breaking space
}

// asciiSpace marks the ASCII whitespace of isSpace.
var asciiSpace = [utf8.RuneSelf]bool{
	' ': true, ',': true, '\t': true, '\n': true, '\v': true, '\f': true, '\r': true,
	0x1C: true, 0x1D: true, 0x1E: true, 0x1F: true,
}

// isTerminating reports whether r ends a token: a macro character other
// than '#', ':' and '\” (tools.reader's macro-terminating?).
func isTerminating(r rune) bool {
	switch r {
	case '"', ';', '^', '(', ')', '[', ']', '{', '}', '\\':
		return true
	}
	return false
}

// isMacro reports whether r ends a number token: any macro character.
func isMacro(r rune) bool { return isTerminating(r) || r == '#' || r == ':' }

// notConstituent reports whether r may not appear in a token.
func notConstituent(r rune) bool { return r == '@' || r == '`' || r == '~' }

// isDigit reports whether r is a decimal digit of any script (Java's
// Character.isDigit, tools.reader's numeric?).
func isDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsDigit(r)
}

// parseSymbol reports whether tok is a valid symbol or keyword name, by
// tools.reader's parse-symbol: not empty, not ending with ':', not
// starting with "::"; with a namespace (text before the first '/'), the
// name is "/" or has no '/', does not start with a digit, and the
// namespace does not end with ':'; without one, tok is "/" or has no '/'.
func parseSymbol(tok string) bool {
	if tok == "" || strings.HasSuffix(tok, ":") || strings.HasPrefix(tok, "::") {
		return false
	}
	i := strings.IndexByte(tok, '/')
	if i <= 0 {
		return i < 0 || tok == "/"
	}
	ns, name := tok[:i], tok[i+1:]
	if name == "" || strings.HasSuffix(ns, ":") {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(name); isDigit(r) {
		return false
	}
	return name == "/" || strings.IndexByte(name, '/') < 0
}

// tokenChars reports whether every rune of s may appear in a token after
// its first: valid UTF-8, no whitespace, no terminating macro character
// and none of @ ` ~.
func tokenChars(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] || isTerminating(rune(c)) || notConstituent(rune(c)) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || isSpace(r) {
			return false
		}
		i += size
	}
	return true
}

// startsNumber reports whether a form starting like b is read as a
// number: a digit, or a sign followed by a digit (tools.reader's
// number-literal?, with digits of any script).
func startsNumber(b []byte) bool {
	r, size := utf8.DecodeRune(b)
	if isDigit(r) {
		return true
	}
	if r == '+' || r == '-' {
		r2, _ := utf8.DecodeRune(b[size:])
		return isDigit(r2)
	}
	return false
}

// startsNumberString is startsNumber for a string.
func startsNumberString(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	if isDigit(r) {
		return true
	}
	if r == '+' || r == '-' {
		r2, _ := utf8.DecodeRuneInString(s[size:])
		return isDigit(r2)
	}
	return false
}

// validSymbol reports whether s, written as is, reads back as the symbol
// s: the inverse of the reader's symbol rules.
func validSymbol(s string) bool {
	if s == "" || !tokenChars(s) || startsNumberString(s) {
		return false
	}
	if s[0] == ':' || s[0] == '#' { // a keyword, a dispatch
		return false
	}
	switch s {
	case "nil", "true", "false":
		return false
	}
	return parseSymbol(s)
}

// validKeyword reports whether ":" + k reads back as the keyword k.
func validKeyword(k string) bool {
	return k != "" && k[0] != ':' && tokenChars(k) && !strings.Contains(k, "::") && parseSymbol(k)
}

// validTag reports whether "#" + tag reads back as a tagged literal with
// this tag: a valid symbol whose first character is no dispatch character
// (#_ is a discard, #! a comment, #: a namespaced map, #^ metadata, …).
func validTag(tag string) bool {
	if !validSymbol(tag) {
		return false
	}
	switch tag[0] {
	case '_', '!', '<', '^', '{', ':', '#':
		return false
	}
	return true
}
