package query

import (
	"errors"
	"strings"
	"testing"
)

// TestParseCanonical pins the tree the parser builds for each construct,
// through its canonical form.
func TestParseCanonical(t *testing.T) {
	and := Options{DefaultField: "text", DefaultOperator: And}
	or := Options{DefaultField: "text"}
	tests := []struct {
		in   string
		opts Options
		want string
	}{
		// The client's form.
		{"(clojure) AND lang:en", and, "+text:clojure +lang:en"},
		{"(*) AND lang:en", and, "lang:en"},
		{"(java (job OR jobs OR hiring)) AND lang:en", and, "+text:java +(text:job text:jobs text:hiring) +lang:en"},
		// Lucene's addClause, default operator AND.
		{"a b", and, "+text:a +text:b"},
		{"a OR b", and, "text:a text:b"},
		{"a OR b c", and, "text:c"},
		{"a AND b OR c", and, "text:a"},
		{"a -b", and, "+text:a -text:b"},
		{"-a OR b", and, "text:b -text:a"},
		{"+a OR b", and, "text:a text:b"},
		{"a AND NOT b", and, "+text:a -text:b"},
		// Default operator OR.
		{"a b", or, "text:a text:b"},
		{"a AND b", or, "+text:a +text:b"},
		{"a AND b c", or, "+text:a +text:b"},
		{"+a b -c", or, "+text:a -text:c"},
		{"a OR b AND c", or, "+text:b +text:c"},
		// Groups, fields, negation.
		{"(a)", or, "text:a"},
		{"((a))", or, "text:a"},
		{"(-a)", or, "-text:a"},
		{"x (-a)", and, "+text:x -text:a"},
		{"user.screen_name:(jane OR john)", and, "user.screen_name:jane user.screen_name:john"},
		{"NOT a", and, "-text:a"},
		{"a NOT b", or, "text:a -text:b"},
		{"! a", and, "text:a"},
		{"a - b", and, "+text:a +text:b"},
		{"a && b || c", or, "+text:a +text:b"},
		{"ANDROID OR oregon", and, "text:android text:oregon"},
		{"and or not", and, "+text:and +text:or +text:not"},
		// Analysis.
		{"Wi-Fi", and, "+text:wi +text:fi"},
		{"Wi-Fi", or, "text:wi text:fi"},
		{"Wi-Fi", Options{DefaultField: "text", AutoGeneratePhraseQueries: true}, `text:"wi fi"`},
		{"...", and, "-*:*"},
		{"... OR a", and, "text:a"},
		// Phrases.
		{`"Quick Brown"`, and, `text:"quick brown"`},
		{`"Quick Brown"~3`, and, `text:"quick brown"~3`},
		{`"Quick Brown"`, Options{DefaultField: "text", PhraseSlop: 2}, `text:"quick brown"~2`},
		{`"one"`, and, "text:one"},
		{`"a \"b\""`, and, `text:"a b"`},
		// Wildcards, fuzzy, regexp.
		{"Clo*", and, "text:clo*"},
		{"*ure", and, "text:*ure"},
		{`a\*b*`, and, `text:a\*b*`},
		{"te?t", and, "text:te?t"},
		{"roam~", and, "text:roam~1"},
		{"roam~1", and, "text:roam~1"},
		{"roam~0.5", and, "text:roam~2"},
		{"ab~", and, "text:ab~0"},
		{"quikc~^2", and, "text:quikc~1"},
		{"/jo.n/", and, "text:/jo.n/"},
		{`/a\/b/`, and, `text:/a\/b/`},
		// Ranges.
		{"retweet_count:[1 TO 5]", and, "retweet_count:[1 TO 5]"},
		{"retweet_count:{1 TO 5}", and, "retweet_count:[2 TO 4]"},
		{"retweet_count:[1 TO *]", and, "retweet_count:[1 TO *]"},
		{"retweet_count:[* TO *]", and, "retweet_count:[* TO *]"},
		{"retweet_count:[1 5]", and, "retweet_count:[1 TO 5]"},
		{"retweet_count:>=10", and, "retweet_count:[10 TO *]"},
		{"retweet_count:>10", and, "retweet_count:[11 TO *]"},
		{"retweet_count:<10", and, "retweet_count:[* TO 9]"},
		{"retweet_count:<=10", and, "retweet_count:[* TO 10]"},
		{"retweet_count:7", and, "retweet_count:7"},
		{"retweet_count:7.9", and, "retweet_count:7"},
		{`retweet_count:\-3`, and, `retweet_count:\-3`},
		{"retweet_count:[-3 TO -1]", and, "retweet_count:[-3 TO -1]"},
		{"retweet_count:{9223372036854775807 TO *]", and, "-*:*"},
		{"text:[A TO c}", and, `text:["a" TO "c"}`},
		{`text:["a b" TO *]`, and, `text:["a b" TO *]`},
		{"text:>m", and, `text:{"m" TO *]`},
		// Fields.
		{"user.verified:YES", and, "user.verified:true"},
		{"user.verified:nope", and, "user.verified:false"},
		{"nosuchfield:x", and, "-*:*"},
		{"_exists_:user", and, "_exists_:user"},
		{"_missing_:retweeted_status", and, "-_exists_:retweeted_status"},
		{"_exists_:nosuch", and, "-*:*"},
		{"text:*", and, "_exists_:text"},
		{"*:*", and, "*:*"},
		{"*", and, "*:*"},
		{"-*", and, "-*:*"},
		{"retweet_count:x", Options{DefaultField: "text", Lenient: true}, "-*:*"},
		{"jane", Options{Fields: []string{"user.screen_name", "user.name"}}, "user.screen_name:jane user.name:jane"},
		{"jane", Options{DefaultField: "user.*_name"}, "user.screen_name:jane"},
		// Boosts are ignored.
		{"a^2 (b c)^3", or, "text:a text:b text:c"},
		// A clause given twice counts once.
		{"a OR a", and, "text:a"},
		{"*e* OR *e* OR (*e*) OR b", and, "text:*e* text:b"},
		{"(a b) OR (b a) OR (a b)", and, "(+text:a +text:b) (+text:b +text:a)"},
		{"a b a -c -c", and, "+text:a +text:b -text:c"},
		{"roam~1 OR roam~1^2", and, "text:roam~1"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in, tt.opts)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseDefaultFieldAll(t *testing.T) {
	q, err := Parse("berlin", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := q.Root().(*Bool)
	if !ok || len(b.Should) != len(textFields()) || len(b.Must) != 0 {
		t.Fatalf("Parse(berlin) with no default field = %s, want a disjunction over every text field", q)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		reason string
	}{
		{"", 0, "empty query"},
		{"   ", 3, "empty query"},
		{"(", 1, "empty group"},
		{"()", 1, "empty group"},
		{"(a", 2, "expected ')'"},
		{"a)", 1, "unexpected ')'"},
		{"a AND", 5, "unexpected end of query"},
		{"AND a", 0, "unexpected AND"},
		{"a OR OR b", 5, "unexpected OR"},
		{"-", 1, "unexpected end of query"},
		{`"abc`, 0, "unterminated phrase"},
		{"/abc", 0, "unterminated regular expression"},
		{"[a TO b", 7, "unterminated range"},
		{"[a TO b TO c]", 8, "expected ']' or '}'"},
		{"[a]", 2, "expected a range bound"},
		{"a^", 2, "expected a number after '^'"},
		{"a^x", 2, "expected a number after '^'"},
		{`a\`, 1, "a term cannot end with an escape character"},
		{"a]", 1, "unexpected ']'"},
		{"a:", 2, "unexpected end of query"},
		{":a", 0, "unexpected ':'"},
		{"/[/", 0, "invalid regular expression"},
		{"retweet_count:abc", 14, `"abc" is not a number for field retweet_count`},
		{"retweet_count:[a TO 5]", 14, `"a" is not a number`},
		{"*a", -2, ""}, // valid; see below
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, Options{DefaultField: "text"})
		if tt.offset == -2 {
			if err != nil {
				t.Errorf("Parse(%q): %v", tt.in, err)
			}
			continue
		}
		var qe *Error
		if !errors.As(err, &qe) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error = %v, want a *Error", tt.in, err)
			continue
		}
		if qe.Offset != tt.offset || !strings.Contains(qe.Reason, tt.reason) || qe.Query != tt.in {
			t.Errorf("Parse(%q) = %+v, want offset %d and reason %q", tt.in, qe, tt.offset, tt.reason)
		}
		if !strings.HasPrefix(err.Error(), "query: ") {
			t.Errorf("error %q does not start with the package name", err)
		}
	}
	if _, err := Parse("*a", Options{DefaultField: "text", NoLeadingWildcard: true}); err == nil {
		t.Error("leading wildcard accepted with NoLeadingWildcard")
	}
}

func TestParseLimits(t *testing.T) {
	text := Options{DefaultField: "text"}
	tests := []struct {
		in     string
		opts   Options
		reason string
	}{
		{strings.Repeat("a ", MaxQueryBytes), text, "longer than"},
		{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), text, "nested deeper"},
		{strings.Repeat("a-b-c-d-e-f-g-h ", 300), Options{Fields: []string{"text", "user.name"}}, "clauses"},
		{strings.Repeat("a ", maxTokens+1), text, "too many tokens"},
		// With "_all" every term becomes one clause per text field.
		{strings.Repeat("x ", 200), Options{}, "clauses"},
		{"/" + strings.Repeat("a", maxRegexpBytes+1) + "/", text, "regular expression longer"},
		{"/" + strings.Repeat("[a-z]{1,999}", 10) + "/", text, "regular expression more complex"},
		{"/(a{1,30}){1,30}/", text, "regular expression more complex"},
		{"/" + strings.Repeat("(ab|cd|ef)", 90) + "/", text, "regular expression more complex"},
		{strings.Repeat("a?", maxWildcards+1), text, "wildcards in a term"},
		{strings.Repeat("*a", maxWildcards+1), text, "wildcards in a term"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, tt.opts)
		var qe *Error
		if !errors.As(err, &qe) || !strings.Contains(qe.Reason, tt.reason) {
			t.Errorf("Parse of a %d-byte query: error %v, want one about %q", len(tt.in), err, tt.reason)
		}
	}
	for _, ok := range []string{
		strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth),
		"/[a-z]{3,20}(ing|ed)?/",
		"/(clo|ja)[a-z]*/",
		strings.Repeat("?", maxWildcards),
		`a\*\*\*` + strings.Repeat("*a", maxWildcards), // escaped stars are literal
	} {
		if _, err := Parse(ok, text); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}
