package query

import (
	"strings"
	"unicode/utf8"
)

// The lexer follows the token definitions of Lucene 4's classic
// QueryParser.jj (the parser behind Elasticsearch 1.x's query_string),
// including its lexical states: after '^' a number, after '[' or '{' the
// range tokens.

type tokKind uint8

const (
	tEOF tokKind = iota
	tAnd
	tOr
	tNot
	tPlus
	tMinus
	tBareOp // '+', '-' or '!' followed by white space: a term that analyses to nothing
	tLParen
	tRParen
	tColon
	tStar   // a lone '*'
	tCarat  // '^', followed by tNumber
	tNumber // the boost after '^'
	tFuzzy  // '~' with an optional number (text holds the number)
	tQuoted // "…": text holds the raw content, escapes kept
	tTerm
	tPrefix // term ending in a single '*' and no other wildcard
	tWild   // term with '*' or '?' elsewhere
	tRegexp // /…/: text holds the raw content
	tRangeStart
	tRangeTo
	tRangeEnd
	tRangeGoop   // a range bound
	tRangeQuoted // a quoted range bound, raw content
)

var tokNames = [...]string{
	tEOF: "end of query", tAnd: "AND", tOr: "OR", tNot: "NOT", tPlus: "'+'", tMinus: "'-'",
	tBareOp: "operator", tLParen: "'('", tRParen: "')'", tColon: "':'", tStar: "'*'",
	tCarat: "'^'", tNumber: "number", tFuzzy: "'~'", tQuoted: "phrase", tTerm: "term",
	tPrefix: "term", tWild: "term", tRegexp: "regular expression", tRangeStart: "range",
	tRangeTo: "TO", tRangeEnd: "end of range", tRangeGoop: "range bound", tRangeQuoted: "range bound",
}

func (k tokKind) String() string { return tokNames[k] }

type token struct {
	kind      tokKind
	text      string // see tokKind; for terms the raw text, escapes kept
	pos       int    // byte offset in the query
	inclusive bool   // for tRangeStart and tRangeEnd: '[' or ']'
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == 0x3000
}

// isTermStart reports whether r may start a term (Lucene's _TERM_START_CHAR,
// without the escape, which the lexer handles).
func isTermStart(r rune) bool {
	if isSpace(r) {
		return false
	}
	switch r {
	case '+', '-', '!', '(', ')', ':', '^', '[', ']', '"', '{', '}', '~', '*', '?', '\\', '/':
		return false
	}
	return true
}

// lex splits the query into tokens, or reports the offset and reason of
// the first lexical error. It stops with an error after maxTokens tokens.
func lex(q string) ([]token, *Error) {
	l := lexer{q: q}
	for {
		if len(l.toks) > maxTokens {
			return nil, &Error{Query: q, Offset: l.i, Reason: "too many tokens"}
		}
		l.skipSpace()
		if l.i >= len(q) {
			l.toks = append(l.toks, token{kind: tEOF, pos: l.i})
			return l.toks, nil
		}
		if err := l.next(); err != nil {
			return nil, err
		}
	}
}

type lexer struct {
	q    string
	i    int
	toks []token
}

func (l *lexer) peekRune(at int) (rune, int) {
	if at >= len(l.q) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(l.q[at:])
}

func (l *lexer) skipSpace() {
	for {
		r, size := l.peekRune(l.i)
		if size == 0 || !isSpace(r) {
			return
		}
		l.i += size
	}
}

func (l *lexer) emit(kind tokKind, text string, pos int) {
	l.toks = append(l.toks, token{kind: kind, text: text, pos: pos})
}

func (l *lexer) errorf(pos int, reason string) *Error {
	return &Error{Query: l.q, Offset: pos, Reason: reason}
}

func (l *lexer) next() *Error {
	start := l.i
	r, size := l.peekRune(l.i)
	switch r {
	case '+', '-', '!':
		if r2, _ := l.peekRune(l.i + size); r2 >= 0 && isSpace(r2) {
			l.i += size
			l.emit(tBareOp, string(r), start)
			return nil
		}
		l.i += size
		kind := tNot
		switch r {
		case '+':
			kind = tPlus
		case '-':
			kind = tMinus
		}
		l.emit(kind, "", start)
		return nil
	case '(':
		l.i++
		l.emit(tLParen, "", start)
		return nil
	case ')':
		l.i++
		l.emit(tRParen, "", start)
		return nil
	case ':':
		l.i++
		l.emit(tColon, "", start)
		return nil
	case '^':
		l.i++
		l.emit(tCarat, "", start)
		n := l.number()
		if n == "" {
			return l.errorf(l.i, "expected a number after '^'")
		}
		l.emit(tNumber, n, l.i-len(n))
		return nil
	case '~':
		l.i++
		l.emit(tFuzzy, l.number(), start)
		return nil
	case '"':
		text, err := l.quoted()
		if err != nil {
			return err
		}
		l.emit(tQuoted, text, start)
		return nil
	case '/':
		text, err := l.delimited('/', "regular expression")
		if err != nil {
			return err
		}
		l.emit(tRegexp, text, start)
		return nil
	case '[', '{':
		l.i++
		l.toks = append(l.toks, token{kind: tRangeStart, pos: start, inclusive: r == '['})
		return l.rangeTokens()
	case ']', '}':
		return l.errorf(start, "unexpected '"+string(r)+"'")
	}
	if r == '&' && strings.HasPrefix(l.q[l.i:], "&&") && !l.termContinues(l.i+2) {
		l.i += 2
		l.emit(tAnd, "", start)
		return nil
	}
	if r == '|' && strings.HasPrefix(l.q[l.i:], "||") && !l.termContinues(l.i+2) {
		l.i += 2
		l.emit(tOr, "", start)
		return nil
	}
	return l.term()
}

// termContinues reports whether a term character follows at i.
func (l *lexer) termContinues(i int) bool {
	r, size := l.peekRune(i)
	return size > 0 && (isTermStart(r) || r == '\\' || r == '-' || r == '+' || r == '*' || r == '?')
}

// number reads digits with an optional fraction ("2", "0.5").
func (l *lexer) number() string {
	start := l.i
	digits := func() {
		for l.i < len(l.q) && '0' <= l.q[l.i] && l.q[l.i] <= '9' {
			l.i++
		}
	}
	digits()
	if l.i == start {
		return ""
	}
	if l.i+1 < len(l.q) && l.q[l.i] == '.' && '0' <= l.q[l.i+1] && l.q[l.i+1] <= '9' {
		l.i++
		digits()
	}
	return l.q[start:l.i]
}

// quoted reads "…" and returns the raw content.
func (l *lexer) quoted() (string, *Error) { return l.delimited('"', "phrase") }

// delimited reads text between two delimiters, a backslash escaping any
// character, and returns the raw content.
func (l *lexer) delimited(delim byte, what string) (string, *Error) {
	start := l.i
	l.i++
	for l.i < len(l.q) {
		switch l.q[l.i] {
		case '\\':
			l.i += 2
			continue
		case delim:
			l.i++
			return l.q[start+1 : l.i-1], nil
		}
		l.i++
	}
	return "", l.errorf(start, "unterminated "+what)
}

// term reads a term, classifying it as operator, term, prefix or
// wildcard term.
func (l *lexer) term() *Error {
	start := l.i
	stars, questions, lastStar := 0, 0, -1
	for l.i < len(l.q) {
		r, size := l.peekRune(l.i)
		if r == utf8.RuneError && size == 1 {
			// Invalid UTF-8 is an ordinary term character.
			l.i++
			continue
		}
		switch {
		case r == '\\':
			if l.i+size >= len(l.q) {
				return l.errorf(l.i, "a term cannot end with an escape character")
			}
			_, size2 := l.peekRune(l.i + size)
			l.i += size + size2
			continue
		case r == '*':
			stars++
			lastStar = l.i
		case r == '?':
			questions++
		case r == '-' || r == '+':
			if l.i == start {
				return l.errorf(l.i, "unexpected '"+string(r)+"'")
			}
		case !isTermStart(r):
			goto done
		}
		l.i += size
	}
done:
	text := l.q[start:l.i]
	if text == "" {
		r, _ := l.peekRune(l.i)
		return l.errorf(l.i, "unexpected '"+string(r)+"'")
	}
	switch {
	case text == "AND" || text == "&&":
		l.emit(tAnd, "", start)
	case text == "OR" || text == "||":
		l.emit(tOr, "", start)
	case text == "NOT":
		l.emit(tNot, "", start)
	case text == "*":
		l.emit(tStar, text, start)
	case stars == 1 && questions == 0 && lastStar == l.i-1:
		l.emit(tPrefix, text, start)
	case stars > 0 || questions > 0:
		l.emit(tWild, text, start)
	default:
		l.emit(tTerm, text, start)
	}
	return nil
}

// rangeTokens reads the inside of a range up to and including its end.
func (l *lexer) rangeTokens() *Error {
	for {
		l.skipSpace()
		if l.i >= len(l.q) {
			return l.errorf(l.i, "unterminated range")
		}
		start := l.i
		switch c := l.q[l.i]; c {
		case ']', '}':
			l.i++
			l.toks = append(l.toks, token{kind: tRangeEnd, pos: start, inclusive: c == ']'})
			return nil
		case '"':
			text, err := l.quoted()
			if err != nil {
				return err
			}
			l.emit(tRangeQuoted, text, start)
			continue
		}
		for l.i < len(l.q) {
			r, size := l.peekRune(l.i)
			if isSpace(r) || r == ']' || r == '}' {
				break
			}
			l.i += size
		}
		text := l.q[start:l.i]
		if text == "TO" {
			l.emit(tRangeTo, "", start)
		} else {
			l.emit(tRangeGoop, text, start)
		}
		if len(l.toks) > maxTokens {
			return l.errorf(l.i, "too many tokens")
		}
	}
}

// unescape removes backslash escapes.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
