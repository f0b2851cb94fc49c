package query

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTokenLength is the longest token, in characters, that Tokens emits;
// longer words are cut into pieces of this length, as Lucene's
// StandardTokenizer does with its default max_token_length.
const MaxTokenLength = 255

// Tokens analyses s as Elasticsearch 1.x's "standard" analyzer does (the
// analyzer of every string field under dynamic mapping, and of query
// terms): it splits s into words by the word-boundary rules of Unicode
// UAX #29 that matter for tweets, drops everything that is not part of a
// word, and lower-cases each word. There are no stop words (Elasticsearch
// 1.x's default). The rules, all in Lucene's StandardTokenizer:
//
//   - a word is a run of letters, digits, marks and connectors ('_'), so
//     "jane_doe", "b2b" and "clojure1" are single tokens;
//   - the full stop, the apostrophe and '’' join letters to letters and
//     digits to digits, ':' and '·' join letters, ',' and ';' join
//     digits: "t.co", "don't", "1.7" and "3,000" are single tokens,
//     "wi-fi", "a/b" and "#tag" are not;
//   - Han ideographs and Hiragana are one token per character; Katakana
//     runs stay together.
//
// The tokens are yielded in order; a token's position is its index in the
// sequence. Tokens are substrings of s when s is already lower case.
func Tokens(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		tokenize(s, yield)
	}
}

// AppendTokens appends the tokens of s to dst and returns the result.
func AppendTokens(dst []string, s string) []string {
	tokenize(s, func(t string) bool { dst = append(dst, t); return true })
	return dst
}

// Character classes of UAX #29 (word break), reduced to what we need.
type wbClass uint8

const (
	wbOther        wbClass = iota
	wbLetter               // ALetter (and Hangul, Southeast Asian scripts)
	wbNumeric              // decimal digits
	wbKatakana             // Katakana
	wbExtendNumLet         // '_' and other connector punctuation
	wbMidLetter            // ':' '·' …
	wbMidNumLet            // '.' '\'' '’' …
	wbMidNum               // ',' ';' …
	wbExtend               // combining marks, ZWJ, format characters
	wbSingle               // Han ideographs and Hiragana: one token each
)

// asciiClass is the class of each ASCII byte.
var asciiClass = func() (t [128]wbClass) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = wbLetter
		t[c-'a'+'A'] = wbLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = wbNumeric
	}
	t['_'] = wbExtendNumLet
	t[':'] = wbMidLetter
	t['.'] = wbMidNumLet
	t['\''] = wbMidNumLet
	t[','] = wbMidNum
	t[';'] = wbMidNum
	return t
}()

func classOf(r rune) wbClass {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch r {
	case 0x00B7, 0x0387, 0x05F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A:
		return wbMidLetter
	case 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E:
		return wbMidNumLet
	case 0x037E, 0x0589, 0x060C, 0x060D, 0x066C, 0x07F8, 0x2044, 0xFE10, 0xFE14, 0xFE50, 0xFE54, 0xFF0C, 0xFF1B:
		return wbMidNum
	case 0x200C, 0x200D:
		return wbExtend
	case 0x309B, 0x309C, 0x30A0, 0x30FC: // sound marks, prolonged sound mark
		return wbKatakana
	}
	switch {
	case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r):
		if unicode.IsLetter(r) {
			return wbSingle
		}
		return wbOther
	case unicode.Is(unicode.Katakana, r):
		if unicode.IsLetter(r) {
			return wbKatakana
		}
		return wbOther
	case unicode.IsLetter(r):
		return wbLetter
	case unicode.IsDigit(r):
		return wbNumeric
	case unicode.Is(unicode.Pc, r):
		return wbExtendNumLet
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r):
		return wbExtend
	}
	return wbOther
}

// joins reports whether a word whose last non-extend character has class
// prev continues with a character of class next (UAX #29 WB5, WB8–WB10,
// WB13, WB13a, WB13b).
func joins(prev, next wbClass) bool {
	switch prev {
	case wbLetter, wbNumeric:
		return next == wbLetter || next == wbNumeric || next == wbExtendNumLet
	case wbKatakana:
		return next == wbKatakana || next == wbExtendNumLet
	case wbExtendNumLet:
		return next == wbLetter || next == wbNumeric || next == wbKatakana || next == wbExtendNumLet
	}
	return false
}

// tokenize is the tokenizer behind Tokens. It stops when yield returns false.
func tokenize(s string, yield func(string) bool) {
	i := 0
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		c := classOf(r)
		switch c {
		case wbSingle:
			end := skipExtend(s, i+size)
			if !emit(s[i:end], yield) {
				return
			}
			i = end
			continue
		case wbLetter, wbNumeric, wbKatakana, wbExtendNumLet:
		default:
			i += size
			continue
		}
		start, prev, word := i, c, c != wbExtendNumLet
		j := skipExtend(s, i+size)
		for j < len(s) {
			r, size := decode(s, j)
			nc := classOf(r)
			if joins(prev, nc) {
				prev = nc
				word = word || nc != wbExtendNumLet
				j = skipExtend(s, j+size)
				continue
			}
			// WB6/WB7 and WB11/WB12: a middle character between two
			// letters, or between two digits.
			if (prev == wbLetter && (nc == wbMidLetter || nc == wbMidNumLet)) ||
				(prev == wbNumeric && (nc == wbMidNum || nc == wbMidNumLet)) {
				k := skipExtend(s, j+size)
				if k < len(s) {
					r2, size2 := decode(s, k)
					if classOf(r2) == prev {
						j = skipExtend(s, k+size2)
						continue
					}
				}
			}
			break
		}
		i = j
		if word && !emit(s[start:j], yield) {
			return
		}
	}
}

func decode(s string, i int) (rune, int) {
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// skipExtend returns the index after the extend and format characters at i
// (WB4: they belong to the character before them).
func skipExtend(s string, i int) int {
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if classOf(r) != wbExtend {
			return i
		}
		i += size
	}
	return i
}

// emit lower-cases a word and yields it, cut into MaxTokenLength pieces.
// A piece with no letter or digit (the connectors or marks left at the
// end of a long word) is no word, as it would not be on its own, and is
// dropped.
func emit(w string, yield func(string) bool) bool {
	w = lower(w)
	for utf8.RuneCountInString(w) > MaxTokenLength {
		n := 0
		for range MaxTokenLength {
			_, size := utf8.DecodeRuneInString(w[n:])
			n += size
		}
		if !yield(w[:n]) {
			return false
		}
		w = w[n:]
		if !hasWordRune(w) {
			return true
		}
	}
	return yield(w)
}

// hasWordRune reports whether s holds a letter, a digit or Katakana.
func hasWordRune(s string) bool {
	for _, r := range s {
		switch classOf(r) {
		case wbLetter, wbNumeric, wbKatakana:
			return true
		}
	}
	return false
}

// lower lower-cases s rune by rune (as Lucene's LowerCaseFilter), without
// allocating when s has no upper-case letter.
func lower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	if ascii {
		return s
	}
	for _, r := range s {
		if unicode.ToLower(r) != r {
			return strings.Map(unicode.ToLower, s)
		}
	}
	return s
}
