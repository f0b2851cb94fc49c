package query

import (
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a query, checked before work proportional to them is done, so
// that a hostile query costs little to reject.
const (
	// MaxQueryBytes is the longest query text accepted.
	MaxQueryBytes = 8192
	// maxTokens bounds the tokens of one query.
	maxTokens = 2048
	// MaxDepth is the deepest nesting of parentheses accepted.
	MaxDepth = 32
	// MaxClauses bounds the leaf queries (terms, phrases, …) after
	// multi-field expansion; Lucene's default maxClauseCount is 1024 per
	// boolean query, this is for the whole query.
	MaxClauses = 4096
	// maxRegexpBytes bounds a regular expression.
	maxRegexpBytes = 1024
	// maxRegexpSize bounds the size of a regular expression's program
	// (regexpSize): matching a token costs up to its length times that,
	// and a short pattern with counted repetitions ("[a-z]{1,999}"
	// repeated) would otherwise take long to compile and match.
	maxRegexpSize = 1000
	// maxWildcards bounds the '*' and '?' of one wildcard term: matching a
	// token costs up to its length times the parts of the pattern.
	maxWildcards = 32
)

// Operator is the default operator: how clauses without AND, OR, + or -
// combine.
type Operator uint8

const (
	// Or makes such clauses optional (Lucene's and Elasticsearch's default).
	Or Operator = iota
	// And makes them required (what the BirdWatch client sends).
	And
)

// Options are the query_string parameters other than the query text.
type Options struct {
	// DefaultField is the field searched by terms without "field:".
	// "" means "_all", every text field, as in Elasticsearch.
	DefaultField string
	// Fields, when not empty, replaces DefaultField: terms without a field
	// search each of these (a document matches if any field does).
	Fields []string
	// DefaultOperator is Or (the zero value) or And.
	DefaultOperator Operator
	// PhraseSlop is the slop of phrases without "~N". Default 0, must be ≥ 0.
	PhraseSlop int
	// NoLeadingWildcard rejects terms starting with '*' or '?'
	// (allow_leading_wildcard false). Leading wildcards are allowed by default.
	NoLeadingWildcard bool
	// AutoGeneratePhraseQueries makes a term that analyses into several
	// tokens ("wi-fi") a phrase instead of a conjunction or disjunction.
	AutoGeneratePhraseQueries bool
	// FuzzyPrefixLength is how many leading characters a fuzzy term must
	// match exactly. Default 0, must be ≥ 0.
	FuzzyPrefixLength int
	// Lenient turns a value that does not fit its field (a word for a
	// number field) into a query that matches nothing instead of an error.
	Lenient bool
}

// Query is a parsed query. It is immutable and safe for concurrent use.
type Query struct {
	root  Node
	text  string
	canon string
}

// Root returns the query's tree.
func (q *Query) Root() Node { return q.root }

// Match reports whether the document matches the query.
func (q *Query) Match(d *Doc) bool { return q.root.Match(d) }

// Text returns the query text the query was parsed from ("" for match_all).
func (q *Query) Text() string { return q.text }

// String returns the query in canonical Lucene syntax: every field
// explicit, "+" for required and "-" for excluded clauses, nothing for
// optional ones. Two queries with the same String match the same
// documents, and Parse(q.String(), Options{}) (default operator Or) gives a
// query with the same String, so it serves as a key for identical queries.
func (q *Query) String() string { return q.canon }

// newQuery simplifies root and wraps it.
func newQuery(root Node, text string) *Query {
	root = simplify(root)
	return &Query{root: root, text: text, canon: root.String()}
}

// All returns a query that matches every tweet, what {:match_all {}} is.
func All() *Query { return newQuery(&MatchAll{}, "") }

// Parse parses query_string text with the given options. The result
// follows Lucene 4's classic query parser, as Elasticsearch 1.x used it:
//
//   - A clause is required (+, AND on either side, or any clause without
//     an operator when DefaultOperator is And), excluded (-, NOT, !) or
//     optional (OR on either side, or no operator with Or). Lucene decides
//     from left to right: "a AND b" makes a required, "a OR b" makes a
//     optional (unless excluded). Mixed operators follow from that rule,
//     not from precedence: with And, "a OR b c" requires c and leaves a and
//     b optional. Use parentheses for anything else.
//   - A group with one clause and no operator is that clause; a group or
//     term that analyses to nothing is dropped ("(...) AND lang:en" is
//     "lang:en"). An empty query or group, a dangling operator, an
//     unbalanced parenthesis, quote or range, a '^' without a number, a
//     bad regular expression, or a value that does not fit a number field
//     (unless Lenient) is an *Error.
//   - A query of nothing but dropped terms matches nothing.
func Parse(text string, opts Options) (*Query, error) {
	if len(text) > MaxQueryBytes {
		return nil, &Error{Query: text[:MaxQueryBytes], Offset: -1, Reason: "query longer than " + strconv.Itoa(MaxQueryBytes) + " bytes"}
	}
	if opts.PhraseSlop < 0 || opts.FuzzyPrefixLength < 0 || opts.DefaultOperator > And {
		return nil, &Error{Query: text, Offset: -1, Reason: "invalid options"}
	}
	p := &parser{q: text, opts: opts}
	if len(opts.Fields) > 0 {
		for _, name := range opts.Fields {
			p.defaults = append(p.defaults, resolveFields(name, false)...)
		}
	} else {
		name := opts.DefaultField
		if name == "" {
			name = "_all"
		}
		p.defaults = resolveFields(name, false)
	}
	toks, lerr := lex(text)
	if lerr != nil {
		return nil, lerr
	}
	p.toks = toks
	if p.peek().kind == tEOF {
		return nil, p.errorf(p.peek(), "empty query")
	}
	root, err := p.query("", 0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "unexpected "+t.kind.String())
	}
	if root == nil {
		root = &MatchNone{}
	}
	return newQuery(root, text), nil
}

type parser struct {
	q        string
	toks     []token
	i        int
	opts     Options
	defaults []Field // the fields of terms without "field:"
	leaves   int
	multi    bool // building one query per field of several (lenient)
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, reason string) *Error {
	return &Error{Query: p.q, Offset: t.pos, Reason: reason}
}

type occur uint8

const (
	must occur = iota
	should
	mustNot
)

type clause struct {
	occur occur
	node  Node
}

type conj uint8

const (
	conjNone conj = iota
	conjAnd
	conjOr
)

type modifier uint8

const (
	modNone modifier = iota
	modReq
	modNot
)

// query parses clauses up to the end of the query or a ')'. field is the
// field of the enclosing "field:(…)", or "" for the default fields.
func (p *parser) query(field string, depth int) (Node, *Error) {
	var clauses []clause
	var first Node
	firstPlain := false
	for n := 0; ; n++ {
		c := conjNone
		if n > 0 {
			switch p.peek().kind {
			case tAnd:
				c = conjAnd
				p.advance()
			case tOr:
				c = conjOr
				p.advance()
			case tEOF, tRParen:
				goto done
			}
		}
		m := modNone
		switch p.peek().kind {
		case tPlus:
			m = modReq
			p.advance()
		case tMinus, tNot:
			m = modNot
			p.advance()
		}
		q, err := p.clause(field, depth)
		if err != nil {
			return nil, err
		}
		clauses = p.addClause(clauses, c, m, q)
		if n == 0 && m == modNone {
			first, firstPlain = q, true
		}
	}
done:
	if len(clauses) == 1 && firstPlain && first != nil {
		return first, nil
	}
	if len(clauses) == 0 {
		return nil, nil
	}
	b := &Bool{}
	for _, c := range clauses {
		switch c.occur {
		case must:
			b.Must = append(b.Must, c.node)
		case should:
			b.Should = append(b.Should, c.node)
		case mustNot:
			b.MustNot = append(b.MustNot, c.node)
		}
	}
	return b, nil
}

// addClause is Lucene's QueryParserBase.addClause: the conjunction before a
// clause can change the previous clause, and decides this one's occur
// together with its modifier and the default operator.
func (p *parser) addClause(clauses []clause, c conj, m modifier, q Node) []clause {
	if len(clauses) > 0 && c == conjAnd {
		if last := &clauses[len(clauses)-1]; last.occur != mustNot {
			last.occur = must
		}
	}
	if len(clauses) > 0 && p.opts.DefaultOperator == And && c == conjOr {
		if last := &clauses[len(clauses)-1]; last.occur != mustNot {
			last.occur = should
		}
	}
	if q == nil {
		return clauses
	}
	var required, prohibited bool
	if p.opts.DefaultOperator == Or {
		prohibited = m == modNot
		required = m == modReq || (c == conjAnd && !prohibited)
	} else {
		prohibited = m == modNot
		required = !prohibited && c != conjOr
	}
	o := should
	switch {
	case prohibited:
		o = mustNot
	case required:
		o = must
	}
	return append(clauses, clause{occur: o, node: q})
}

// clause parses [field:] followed by a term or a parenthesised group.
func (p *parser) clause(field string, depth int) (Node, *Error) {
	t := p.peek()
	if (t.kind == tTerm || t.kind == tStar) && p.peekAt(1).kind == tColon {
		field = unescape(t.text)
		if field == "" {
			return nil, p.errorf(t, "empty field name")
		}
		p.advance()
		p.advance()
		t = p.peek()
	}
	if t.kind != tLParen {
		return p.term(field)
	}
	if depth >= MaxDepth {
		return nil, p.errorf(t, "parentheses nested deeper than "+strconv.Itoa(MaxDepth))
	}
	p.advance()
	if k := p.peek().kind; k == tRParen || k == tEOF {
		return nil, p.errorf(p.peek(), "empty group")
	}
	q, err := p.query(field, depth+1)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tRParen {
		return nil, p.errorf(t, "expected ')', found "+t.kind.String())
	}
	p.advance()
	p.boost()
	return q, nil
}

// boost skips "^number": there is no scoring.
func (p *parser) boost() {
	if p.peek().kind == tCarat {
		p.advance()
		p.advance() // the lexer always follows '^' with a number
	}
}

// fieldsOf returns the fields a clause searches.
func (p *parser) fieldsOf(name string) []Field {
	if name == "" {
		return p.defaults
	}
	return resolveFields(name, false)
}

// term parses a term, phrase or range with its modifiers.
func (p *parser) term(field string) (Node, *Error) {
	t := p.peek()
	switch t.kind {
	case tTerm, tStar, tPrefix, tWild, tRegexp, tBareOp:
		p.advance()
		fuzzy := p.peek().kind == tFuzzy
		slop := ""
		if fuzzy {
			slop = p.advance().text
		}
		if p.peek().kind == tCarat {
			p.boost()
			if !fuzzy && p.peek().kind == tFuzzy {
				fuzzy = true
				slop = p.advance().text
			}
		}
		return p.termQuery(field, t, fuzzy, slop)
	case tQuoted:
		p.advance()
		slop := p.opts.PhraseSlop
		if p.peek().kind == tFuzzy {
			if s := p.advance().text; s != "" {
				f, _ := strconv.ParseFloat(s, 64) // the lexer only accepts digits
				slop = int(min(f, 1<<20))
			}
		}
		p.boost()
		return p.phraseQuery(field, t, slop)
	case tRangeStart:
		return p.rangeQuery(field)
	}
	return nil, p.errorf(t, "unexpected "+t.kind.String())
}

// perField builds one query per field and combines them: none for an
// unknown field (MatchNone), several as alternatives.
func (p *parser) perField(t token, fs []Field, build func(f Field) (Node, *Error)) (Node, *Error) {
	if len(fs) == 0 {
		return &MatchNone{}, nil
	}
	// A value that does not fit one of several fields (a word for a number
	// field under "user.*") only fails that field, as in later
	// Elasticsearch versions.
	p.multi = len(fs) > 1
	defer func() { p.multi = false }()
	var nodes []Node
	for _, f := range fs {
		n, err := build(f)
		if err != nil {
			return nil, err
		}
		if n != nil {
			nodes = append(nodes, n)
		}
	}
	switch len(nodes) {
	case 0:
		return nil, nil
	case 1:
		return nodes[0], nil
	}
	return &Bool{Should: nodes}, nil
}

// count adds n leaves and checks MaxClauses.
func (p *parser) count(t token, n int) *Error {
	p.leaves += n
	if p.leaves > MaxClauses {
		return p.errorf(t, "more than "+strconv.Itoa(MaxClauses)+" clauses")
	}
	return nil
}

func (p *parser) termQuery(field string, t token, fuzzy bool, slop string) (Node, *Error) {
	if field == "_exists_" || field == "_missing_" {
		e := p.exists(t, unescape(t.text))
		if field == "_missing_" {
			return &Bool{MustNot: []Node{e}}, nil
		}
		return e, nil
	}
	switch t.kind {
	case tStar:
		if field == "" || field == "*" || field == "_all" {
			return &MatchAll{}, nil
		}
		return p.exists(t, field), nil
	case tRegexp:
		pattern := lower(t.text)
		if len(pattern) > maxRegexpBytes {
			return nil, p.errorf(t, "regular expression longer than "+strconv.Itoa(maxRegexpBytes)+" bytes")
		}
		anchored := "^(?:" + pattern + ")$"
		// Parsing is cheap; compiling is what a complex pattern makes slow.
		tree, err := syntax.Parse(anchored, syntax.Perl)
		if err != nil {
			return nil, p.errorf(t, "invalid regular expression: "+strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		size := regexpSize(tree, maxRegexpSize)
		if size > maxRegexpSize {
			return nil, p.errorf(t, "regular expression more complex than "+strconv.Itoa(maxRegexpSize)+" instructions")
		}
		re, err := regexp.Compile(anchored)
		if err != nil {
			return nil, p.errorf(t, "invalid regular expression: "+strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return p.perField(t, p.fieldsOf(field), func(f Field) (Node, *Error) {
			if f.Kind() != Text {
				return &MatchNone{}, nil
			}
			return &Regexp{Field: f, Pattern: pattern, re: re, size: size}, p.count(t, 1)
		})
	case tPrefix, tWild:
		pattern := lower(t.text)
		if p.opts.NoLeadingWildcard && (pattern[0] == '*' || pattern[0] == '?') {
			return nil, p.errorf(t, "leading wildcard not allowed")
		}
		parts, prefix := compileWildcard(pattern)
		if wildcards(parts) > maxWildcards {
			return nil, p.errorf(t, "more than "+strconv.Itoa(maxWildcards)+" wildcards in a term")
		}
		return p.perField(t, p.fieldsOf(field), func(f Field) (Node, *Error) {
			if f.Kind() != Text {
				return &MatchNone{}, nil
			}
			return &Wildcard{Field: f, Pattern: pattern, prefix: prefix, parts: parts}, p.count(t, 1)
		})
	}
	text := unescape(t.text)
	if fuzzy && t.kind == tTerm {
		return p.perField(t, p.fieldsOf(field), func(f Field) (Node, *Error) {
			if f.Kind() != Text {
				return p.fieldTerm(t, f, text)
			}
			v := lower(text)
			return &Fuzzy{Field: f, Value: v, Edits: fuzzyEdits(slop, v), PrefixLength: p.opts.FuzzyPrefixLength, runes: []rune(v)}, p.count(t, 1)
		})
	}
	if t.kind == tTerm && len(text) > 0 && (text[0] == '>' || text[0] == '<') {
		return p.openRange(t, field, text)
	}
	return p.perField(t, p.fieldsOf(field), func(f Field) (Node, *Error) { return p.fieldTerm(t, f, text) })
}

// fuzzyEdits is the edit distance of term~slop: Elasticsearch's AUTO for a
// bare '~', else Lucene's FuzzyQuery.floatToEdits.
func fuzzyEdits(slop, term string) int {
	n := utf8.RuneCountInString(term)
	if slop == "" {
		switch {
		case n <= 2:
			return 0
		case n <= 5:
			return 1
		}
		return 2
	}
	f, _ := strconv.ParseFloat(slop, 64) // the lexer only accepts digits
	switch {
	case f >= 1:
		return int(min(f, maxFuzzyEdits))
	case f == 0:
		return 0
	}
	return min(int((1-f)*float64(n)), maxFuzzyEdits)
}

// exists builds _exists_:path; an unknown path matches nothing.
func (p *parser) exists(t token, path string) Node {
	fs := resolveFields(path, true)
	if len(fs) == 0 {
		return &MatchNone{}
	}
	return &Exists{Path: path, Fields: fs}
}

// openRange handles Elasticsearch's field:>x, >=x, <x and <=x.
func (p *parser) openRange(t token, field, text string) (Node, *Error) {
	var lo, hi string
	var hasLo, hasHi, inclLo, inclHi bool
	switch {
	case text[0] == '>' && len(text) > 2 && text[1] == '=':
		lo, hasLo, inclLo, inclHi = text[2:], true, true, true
	case text[0] == '>':
		lo, hasLo, inclLo, inclHi = text[1:], true, false, true
	case len(text) > 2 && text[1] == '=':
		hi, hasHi, inclLo, inclHi = text[2:], true, true, true
	default:
		hi, hasHi, inclLo, inclHi = text[1:], true, true, false
	}
	return p.perField(t, p.fieldsOf(field), func(f Field) (Node, *Error) {
		return p.fieldRange(t, f, lo, hi, hasLo, hasHi, inclLo, inclHi)
	})
}

// fieldTerm is an unquoted term on one field.
func (p *parser) fieldTerm(t token, f Field, text string) (Node, *Error) {
	switch f.Kind() {
	case Number:
		return p.numberTerm(t, f, text)
	case Boolean:
		return p.boolTerm(t, f, text)
	}
	toks := AppendTokens(nil, text)
	if err := p.count(t, len(toks)); err != nil {
		return nil, err
	}
	switch len(toks) {
	case 0:
		return nil, nil
	case 1:
		return &Term{Field: f, Value: toks[0]}, nil
	}
	if p.opts.AutoGeneratePhraseQueries {
		return &Phrase{Field: f, Terms: toks}, nil
	}
	nodes := make([]Node, len(toks))
	for i, tok := range toks {
		nodes[i] = &Term{Field: f, Value: tok}
	}
	if p.opts.DefaultOperator == And {
		return &Bool{Must: nodes}, nil
	}
	return &Bool{Should: nodes}, nil
}

// boolTerm is a term on a Boolean field: "true" for true, 1, on and yes
// (any case), "false" for anything else, as Elasticsearch 1.x reads it;
// among several fields only the words for true and false count.
func (p *parser) boolTerm(t token, f Field, text string) (Node, *Error) {
	v := "false"
	switch strings.ToLower(text) {
	case "true", "1", "on", "yes":
		v = "true"
	case "false", "0", "off", "no":
	default:
		if p.multi {
			return &MatchNone{}, nil
		}
	}
	return &Term{Field: f, Value: v}, p.count(t, 1)
}

// parseNumber reads an integer; a decimal is truncated, as Elasticsearch
// coerces it for long fields.
func parseNumber(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f >= math.MaxInt64 || f < math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

func (p *parser) numberTerm(t token, f Field, text string) (Node, *Error) {
	n, ok := parseNumber(text)
	if !ok {
		if p.opts.Lenient || p.multi {
			return &MatchNone{}, nil
		}
		return nil, p.errorf(t, strconv.Quote(text)+" is not a number for field "+f.Name())
	}
	return &NumberRange{Field: f, Min: n, Max: n}, p.count(t, 1)
}

func (p *parser) phraseQuery(field string, t token, slop int) (Node, *Error) {
	text := unescape(t.text)
	return p.perField(t, p.fieldsOf(field), func(f Field) (Node, *Error) {
		switch f.Kind() {
		case Number:
			return p.numberTerm(t, f, text)
		case Boolean:
			return p.boolTerm(t, f, text)
		}
		toks := AppendTokens(nil, text)
		if err := p.count(t, len(toks)); err != nil {
			return nil, err
		}
		switch len(toks) {
		case 0:
			return nil, nil
		case 1:
			return &Term{Field: f, Value: toks[0]}, nil
		}
		return &Phrase{Field: f, Terms: toks, Slop: slop}, nil
	})
}

// rangeQuery parses [lo TO hi], {lo TO hi} or a mix, TO being optional.
func (p *parser) rangeQuery(field string) (Node, *Error) {
	start := p.advance()
	bound := func() (string, bool, *Error) {
		t := p.advance()
		switch t.kind {
		case tRangeQuoted:
			return unescape(t.text), true, nil
		case tRangeGoop:
			if t.text == "*" {
				return "", false, nil
			}
			return unescape(t.text), true, nil
		}
		return "", false, p.errorf(t, "expected a range bound, found "+t.kind.String())
	}
	lo, hasLo, err := bound()
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tRangeTo {
		p.advance()
	}
	hi, hasHi, err := bound()
	if err != nil {
		return nil, err
	}
	end := p.advance()
	if end.kind != tRangeEnd {
		return nil, p.errorf(end, "expected ']' or '}', found "+end.kind.String())
	}
	p.boost()
	return p.perField(start, p.fieldsOf(field), func(f Field) (Node, *Error) {
		return p.fieldRange(start, f, lo, hi, hasLo, hasHi, start.inclusive, end.inclusive)
	})
}

// fieldRange is a range on one field.
func (p *parser) fieldRange(t token, f Field, lo, hi string, hasLo, hasHi, inclLo, inclHi bool) (Node, *Error) {
	if f.Kind() != Number {
		return &TermRange{Field: f, Lower: lower(lo), Upper: lower(hi), HasLower: hasLo, HasUpper: hasHi,
			IncludeLower: inclLo, IncludeUpper: inclHi}, p.count(t, 1)
	}
	min, max := int64(math.MinInt64), int64(math.MaxInt64)
	for _, b := range []struct {
		text      string
		has, incl bool
		dst       *int64
		step      int64
	}{{lo, hasLo, inclLo, &min, 1}, {hi, hasHi, inclHi, &max, -1}} {
		if !b.has {
			continue
		}
		n, ok := parseNumber(b.text)
		if !ok {
			if p.opts.Lenient || p.multi {
				return &MatchNone{}, nil
			}
			return nil, p.errorf(t, strconv.Quote(b.text)+" is not a number for field "+f.Name())
		}
		if !b.incl {
			if (b.step > 0 && n == math.MaxInt64) || (b.step < 0 && n == math.MinInt64) {
				return &MatchNone{}, nil
			}
			n += b.step
		}
		*b.dst = n
	}
	return &NumberRange{Field: f, Min: min, Max: max}, p.count(t, 1)
}

// simplify normalises a tree without changing what it matches: nested
// conjunctions and disjunctions are flattened, optional clauses beside
// required ones (which only scored) dropped, MatchAll and MatchNone folded,
// and one-clause Bools replaced by their clause.
func simplify(n Node) Node {
	b, ok := n.(*Bool)
	if !ok {
		return n
	}
	var musts, shoulds, nots []Node
	for _, c := range b.Must {
		switch c := simplify(c).(type) {
		case *MatchNone:
			return c
		case *MatchAll:
			// A required MatchAll adds nothing, but it does make the
			// optional clauses optional, so b.Must stays non-empty below.
		case *Bool:
			if len(c.Should) == 0 {
				musts = append(musts, c.Must...)
				nots = append(nots, c.MustNot...)
			} else {
				musts = append(musts, c)
			}
		default:
			musts = append(musts, c)
		}
	}
	for _, c := range b.MustNot {
		switch c := simplify(c).(type) {
		case *MatchAll:
			return &MatchNone{}
		case *MatchNone:
		default:
			nots = append(nots, c)
		}
	}
	if len(b.Must) == 0 {
		for _, c := range b.Should {
			switch c := simplify(c).(type) {
			case *MatchNone:
			case *Bool:
				if len(c.Must) == 0 && len(c.MustNot) == 0 {
					shoulds = append(shoulds, c.Should...)
				} else {
					shoulds = append(shoulds, c)
				}
			default:
				shoulds = append(shoulds, c)
			}
		}
		if len(b.Should) > 0 && len(shoulds) == 0 {
			return &MatchNone{}
		}
		for _, c := range shoulds {
			if _, ok := c.(*MatchAll); ok {
				shoulds = nil // one optional clause matches everything
				break
			}
		}
	}
	// A clause given twice is the same constraint: "*e* OR *e*" expands the
	// wildcard once.
	musts, shoulds, nots = uniqueNodes(musts), uniqueNodes(shoulds), uniqueNodes(nots)
	switch {
	case len(musts) == 1 && len(shoulds) == 0 && len(nots) == 0:
		return musts[0]
	case len(musts) == 0 && len(shoulds) == 1 && len(nots) == 0:
		return shoulds[0]
	case len(musts) == 0 && len(shoulds) == 0 && len(nots) == 0:
		return &MatchAll{}
	}
	return &Bool{Must: musts, Should: shoulds, MustNot: nots}
}

// uniqueNodes drops the nodes equal (by String) to an earlier one, in
// place.
func uniqueNodes(nodes []Node) []Node {
	if len(nodes) < 2 {
		return nodes
	}
	seen := make(map[string]bool, len(nodes))
	out := nodes[:0]
	for _, n := range nodes {
		if s := n.String(); !seen[s] {
			seen[s] = true
			out = append(out, n)
		}
	}
	clear(nodes[len(out):])
	return out
}

// regexpSize estimates the instructions of re's compiled program, as
// regexp/syntax compiles it: counted repetitions are copies of their
// operand. The count stops soon after limit, so that the arithmetic cannot
// overflow.
func regexpSize(re *syntax.Regexp, limit int) int {
	n := 0
	switch re.Op {
	case syntax.OpLiteral:
		n = len(re.Rune)
	case syntax.OpCapture:
		n = 2 + regexpSize(re.Sub[0], limit)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = 1 + regexpSize(re.Sub[0], limit)
	case syntax.OpRepeat:
		copies := re.Max
		if copies < 0 {
			copies = re.Min + 1 // the last copy is starred
		}
		n = copies * (1 + regexpSize(re.Sub[0], limit))
	case syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range re.Sub {
			n += 1 + regexpSize(sub, limit)
			if n > limit {
				break
			}
		}
	default:
		n = 1
	}
	return min(n, limit+1)
}
