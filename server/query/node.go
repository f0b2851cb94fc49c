package query

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Node is one node of a parsed query. The concrete types are the pointer
// types in this file; a type switch over them is how the store and the
// percolator plan their evaluation, and Match is the reference semantics
// they must agree with. Nodes are immutable.
type Node interface {
	// Match reports whether the document matches.
	Match(d *Doc) bool
	// String returns the node in Lucene syntax that parses back to an
	// equal node with default operator OR (see Query.String).
	String() string
	node()
}

// MatchAll matches every document: "*" and "*:*".
type MatchAll struct{}

// MatchNone matches no document: a term on an unknown field, a query that
// analyses to nothing, "-*:*".
type MatchNone struct{}

// Term matches documents whose field has the token Value (an analysed
// token, or "true"/"false" for a Boolean field).
type Term struct {
	Field Field
	Value string
}

// Phrase matches documents in which Terms occur in order at consecutive
// positions, or within Slop moves of that (Lucene's sloppy phrase: the
// positions minus their offsets in the phrase span at most Slop). It has at
// least two terms.
type Phrase struct {
	Field Field
	Terms []string
	Slop  int
}

// Bool combines clauses with Lucene's BooleanQuery semantics: a document
// matches when it matches every Must clause and no MustNot clause, and,
// when there is no Must clause, at least one Should clause. With Must
// clauses present, Should clauses do not affect matching (they only
// scored). A Bool with neither Must nor Should clauses matches every
// document not excluded by MustNot (see the package documentation).
type Bool struct {
	Must, Should, MustNot []Node
}

// Wildcard matches documents with a token matching Pattern, in which '*'
// stands for any run of characters, '?' for one character and '\' escapes
// the next character.
type Wildcard struct {
	Field   Field
	Pattern string
	prefix  string     // literal characters before the first wildcard
	parts   []wildPart // the compiled pattern
}

// Fuzzy matches documents with a token within Edits insertions, deletions,
// substitutions or transpositions of Value whose first PrefixLength
// characters equal Value's.
type Fuzzy struct {
	Field        Field
	Value        string
	Edits        int // 0, 1 or 2
	PrefixLength int
	runes        []rune // Value decoded, when the parser made the node
}

// Regexp matches documents with a token that Pattern matches entirely.
type Regexp struct {
	Field   Field
	Pattern string
	re      *regexp.Regexp
	size    int // regexpSize of the pattern
}

// TermRange matches documents with a token between Lower and Upper (byte
// order). HasLower and HasUpper are false for an open end.
type TermRange struct {
	Field                      Field
	Lower, Upper               string
	HasLower, HasUpper         bool
	IncludeLower, IncludeUpper bool
}

// NumberRange matches documents with a value of a Number field in
// [Min, Max]; a term on a Number field is the range [v, v].
type NumberRange struct {
	Field    Field
	Min, Max int64
}

// Exists matches documents with at least one value in any of Fields: the
// field Path, or every field under the object Path ("user").
type Exists struct {
	Path   string
	Fields []Field
}

func (*MatchAll) node()    {}
func (*MatchNone) node()   {}
func (*Term) node()        {}
func (*Phrase) node()      {}
func (*Bool) node()        {}
func (*Wildcard) node()    {}
func (*Fuzzy) node()       {}
func (*Regexp) node()      {}
func (*TermRange) node()   {}
func (*NumberRange) node() {}
func (*Exists) node()      {}

// Match implements Node.
func (*MatchAll) Match(*Doc) bool { return true }

// Match implements Node.
func (*MatchNone) Match(*Doc) bool { return false }

// Match implements Node.
func (n *Term) Match(d *Doc) bool {
	for _, t := range d.Tokens(n.Field) {
		if t.Text == n.Value {
			return true
		}
	}
	return false
}

// Match implements Node.
func (n *Phrase) Match(d *Doc) bool {
	toks := d.Tokens(n.Field)
	var buf [8][]int32
	var lists [][]int32
	if len(n.Terms) <= len(buf) {
		lists = buf[:len(n.Terms)]
	} else {
		lists = make([][]int32, len(n.Terms))
	}
	for i, term := range n.Terms {
		for _, t := range toks {
			if t.Text == term {
				// Offset positions by the term's place in the phrase: an
				// exact match has equal offsets.
				lists[i] = append(lists[i], t.Pos-int32(i))
			}
		}
		if len(lists[i]) == 0 {
			return false
		}
	}
	return smallestRange(lists) <= int64(n.Slop)
}

// smallestRange returns the smallest max-min over one element from each
// sorted list (the classic k-pointer sweep).
func smallestRange(lists [][]int32) int64 {
	var idx [8]int
	var ix []int
	if len(lists) <= len(idx) {
		ix = idx[:len(lists)]
	} else {
		ix = make([]int, len(lists))
	}
	best := int64(math.MaxInt64)
	for {
		lo, hi, loList := int64(math.MaxInt64), int64(math.MinInt64), 0
		for i, l := range lists {
			v := int64(l[ix[i]])
			if v < lo {
				lo, loList = v, i
			}
			if v > hi {
				hi = v
			}
		}
		if hi-lo < best {
			best = hi - lo
			if best == 0 {
				return 0
			}
		}
		ix[loList]++
		if ix[loList] == len(lists[loList]) {
			return best
		}
	}
}

// Match implements Node.
func (n *Bool) Match(d *Doc) bool {
	for _, c := range n.Must {
		if !c.Match(d) {
			return false
		}
	}
	for _, c := range n.MustNot {
		if c.Match(d) {
			return false
		}
	}
	if len(n.Must) > 0 || len(n.Should) == 0 {
		return true
	}
	for _, c := range n.Should {
		if c.Match(d) {
			return true
		}
	}
	return false
}

// Match implements Node.
func (n *Wildcard) Match(d *Doc) bool {
	for _, t := range d.Tokens(n.Field) {
		if n.MatchToken(t.Text) {
			return true
		}
	}
	return false
}

// MatchToken reports whether the token s matches the pattern.
func (n *Wildcard) MatchToken(s string) bool {
	return strings.HasPrefix(s, n.prefix) && wildMatch(n.parts, s)
}

// Prefix returns the literal text every matching token starts with.
func (n *Wildcard) Prefix() string { return n.prefix }

// MatchCost returns how much work MatchToken does per byte of the token,
// relative to comparing two bytes, at most: the parts of the pattern, as
// '*' may retry the rest of the pattern at every character.
func (n *Wildcard) MatchCost() int { return 1 + len(n.parts) }

// Match implements Node.
func (n *Fuzzy) Match(d *Doc) bool {
	for _, t := range d.Tokens(n.Field) {
		if n.MatchToken(t.Text) {
			return true
		}
	}
	return false
}

// MatchToken reports whether the token s is within the edit distance.
func (n *Fuzzy) MatchToken(s string) bool {
	ra := n.runes
	if ra == nil {
		ra = []rune(n.Value)
	}
	return withinEdits(n.Value, ra, s, n.Edits, n.PrefixLength)
}

// Prefix returns the literal text every matching token starts with: the
// first PrefixLength characters of Value.
func (n *Fuzzy) Prefix() string {
	i := 0
	for k := 0; k < n.PrefixLength && i < len(n.Value); k++ {
		_, size := utf8.DecodeRuneInString(n.Value[i:])
		i += size
	}
	return n.Value[:i]
}

// MatchCost returns how much work MatchToken does per byte of the token,
// relative to comparing two bytes, at most: the length of the value, as
// the edit distance compares every character with every other (a token
// whose length differs by more than Edits costs nothing).
func (n *Fuzzy) MatchCost() int { return 1 + utf8.RuneCountInString(n.Value) }

// Match implements Node.
func (n *Regexp) Match(d *Doc) bool {
	for _, t := range d.Tokens(n.Field) {
		if n.re.MatchString(t.Text) {
			return true
		}
	}
	return false
}

// MatchToken reports whether the pattern matches the whole token s.
func (n *Regexp) MatchToken(s string) bool { return n.re.MatchString(s) }

// Prefix returns literal text every matching token starts with ("" when
// there is none).
func (n *Regexp) Prefix() string {
	p, _ := n.re.LiteralPrefix()
	return p
}

// MatchCost returns how much work MatchToken does per byte of the token,
// relative to comparing two bytes, at most: the instructions of the
// compiled pattern, which the regexp package may all step through for
// every byte. The parser bounds it (a pattern more complex than 1000
// instructions is an error).
func (n *Regexp) MatchCost() int { return 1 + n.size }

// Match implements Node.
func (n *TermRange) Match(d *Doc) bool {
	for _, t := range d.Tokens(n.Field) {
		if n.MatchToken(t.Text) {
			return true
		}
	}
	return false
}

// MatchToken reports whether the token s lies in the range.
func (n *TermRange) MatchToken(s string) bool {
	if n.HasLower {
		if c := strings.Compare(s, n.Lower); c < 0 || c == 0 && !n.IncludeLower {
			return false
		}
	}
	if n.HasUpper {
		if c := strings.Compare(s, n.Upper); c > 0 || c == 0 && !n.IncludeUpper {
			return false
		}
	}
	return true
}

// MatchCost returns how much work MatchToken does per byte of the token,
// relative to comparing two bytes, at most: 1, two string comparisons.
func (n *TermRange) MatchCost() int { return 1 }

// Prefix returns the text every token in the range starts with: the
// common prefix of both bounds ("" for an open range).
func (n *TermRange) Prefix() string {
	if !n.HasLower || !n.HasUpper {
		return ""
	}
	i := 0
	for i < len(n.Lower) && i < len(n.Upper) && n.Lower[i] == n.Upper[i] {
		i++
	}
	// Do not end inside a UTF-8 sequence.
	for i > 0 && i < len(n.Lower) && !utf8.RuneStart(n.Lower[i]) {
		i--
	}
	return n.Lower[:i]
}

// Match implements Node.
func (n *NumberRange) Match(d *Doc) bool {
	for _, v := range d.Numbers(n.Field) {
		if n.Min <= v && v <= n.Max {
			return true
		}
	}
	return false
}

// Match implements Node.
func (n *Exists) Match(d *Doc) bool {
	for _, f := range n.Fields {
		if d.has(f) {
			return true
		}
	}
	return false
}

// String implements Node.
func (*MatchAll) String() string { return "*:*" }

// String implements Node.
func (*MatchNone) String() string { return "-*:*" }

// String implements Node.
func (n *Term) String() string { return n.Field.Name() + ":" + escapeTerm(n.Value) }

// String implements Node.
func (n *Phrase) String() string {
	var b strings.Builder
	b.WriteString(n.Field.Name())
	b.WriteString(":")
	b.WriteString(quote(strings.Join(n.Terms, " ")))
	if n.Slop > 0 {
		b.WriteString("~")
		b.WriteString(strconv.Itoa(n.Slop))
	}
	return b.String()
}

// String implements Node.
func (n *Bool) String() string {
	var parts []string
	add := func(prefix string, cs []Node) {
		for _, c := range cs {
			s := c.String()
			if _, ok := c.(*Bool); ok {
				s = "(" + s + ")"
			}
			parts = append(parts, prefix+s)
		}
	}
	add("+", n.Must)
	add("", n.Should)
	add("-", n.MustNot)
	return strings.Join(parts, " ")
}

// String implements Node.
func (n *Wildcard) String() string { return n.Field.Name() + ":" + n.Pattern }

// String implements Node.
func (n *Fuzzy) String() string {
	return n.Field.Name() + ":" + escapeTerm(n.Value) + "~" + strconv.Itoa(n.Edits)
}

// String implements Node.
func (n *Regexp) String() string { return n.Field.Name() + ":/" + n.Pattern + "/" }

// String implements Node.
func (n *TermRange) String() string {
	var b strings.Builder
	b.WriteString(n.Field.Name())
	b.WriteString(":")
	if n.IncludeLower {
		b.WriteString("[")
	} else {
		b.WriteString("{")
	}
	if n.HasLower {
		b.WriteString(quote(n.Lower))
	} else {
		b.WriteString("*")
	}
	b.WriteString(" TO ")
	if n.HasUpper {
		b.WriteString(quote(n.Upper))
	} else {
		b.WriteString("*")
	}
	if n.IncludeUpper {
		b.WriteString("]")
	} else {
		b.WriteString("}")
	}
	return b.String()
}

// String implements Node.
func (n *NumberRange) String() string {
	name := n.Field.Name()
	if n.Min == n.Max {
		return name + ":" + escapeTerm(strconv.FormatInt(n.Min, 10))
	}
	lo, hi := "*", "*"
	if n.Min != math.MinInt64 {
		lo = strconv.FormatInt(n.Min, 10)
	}
	if n.Max != math.MaxInt64 {
		hi = strconv.FormatInt(n.Max, 10)
	}
	return name + ":[" + lo + " TO " + hi + "]"
}

// String implements Node.
func (n *Exists) String() string { return "_exists_:" + escapeTerm(n.Path) }

// special lists the characters escaped in terms written by String.
const special = `+-!():^[]"{}~*?\/&|`

// escapeTerm escapes s so that the lexer reads it back as one term.
// Invalid UTF-8 is kept byte for byte.
func escapeTerm(s string) string {
	if s == "" {
		return `""`
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if strings.ContainsRune(special, r) || isSpace(r) {
			b.WriteByte('\\')
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// quote writes s as a quoted string: '"' and '\' escaped, invalid UTF-8
// kept byte for byte.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
