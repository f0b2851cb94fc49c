package query

import (
	"errors"
	"testing"

	"github.com/sente-go/sente/transit"
)

func kw(s string) transit.Keyword { return transit.Keyword(s) }

// TestFromMapClientFrame decodes the :cmd/query frame of
// docs/birdwatch.md §2.2 (read cache included) and builds its query.
func TestFromMapClientFrame(t *testing.T) {
	frame := `[["~:cmd/query",["^ ","~:query",["^ ","~:query_string",["^ ","~:default_field","text","~:default_operator","AND","^1","(clojure) AND lang:en"]],"~:n",500,"~:uid","7f3c","~:from",1000]]]`
	v, err := transit.Unmarshal([]byte(frame))
	if err != nil {
		t.Fatal(err)
	}
	payload := v.([]any)[0].([]any)[1].(*transit.Map)
	m, _ := payload.Get(kw("query"))
	q, err := FromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.String(), "+text:clojure +lang:en"; got != want {
		t.Errorf("query = %s, want %s", got, want)
	}
	if q.Text() != "(clojure) AND lang:en" {
		t.Errorf("Text() = %q", q.Text())
	}
}

func qs(kvs ...any) *transit.Map {
	return transit.NewMap(kw("query_string"), transit.NewMap(kvs...))
}

func TestFromMap(t *testing.T) {
	tests := []struct {
		name string
		m    any
		want string // canonical query, or "" for an error
	}{
		{"client", qs(kw("default_field"), "text", kw("default_operator"), "AND", kw("query"), "a b"), "+text:a +text:b"},
		{"string keys", transit.NewMap("query_string", transit.NewMap("query", "a b", "default_field", "text")), "text:a text:b"},
		{"operator case", qs(kw("query"), "a b", kw("default_field"), "text", kw("default_operator"), "and"), "+text:a +text:b"},
		{"default field _all", qs(kw("query"), "lang:en"), "lang:en"},
		{"fields", qs(kw("query"), "jane", kw("fields"), []any{"user.screen_name", "user.name"}), "user.screen_name:jane user.name:jane"},
		{"phrase slop", qs(kw("query"), `"a b"`, kw("default_field"), "text", kw("phrase_slop"), int64(2)), `text:"a b"~2`},
		{"lenient", qs(kw("query"), "retweet_count:x", kw("lenient"), true), "-*:*"},
		{"ignored params", qs(kw("query"), "text:a", kw("boost"), 2.0, kw("use_dis_max"), true, kw("analyzer"), "standard"), "text:a"},
		{"auto phrase", qs(kw("query"), "wi-fi", kw("default_field"), "text", kw("auto_generate_phrase_queries"), true), `text:"wi fi"`},
		{"match_all", transit.NewMap(kw("match_all"), transit.NewMap()), "*:*"},
		{"json map", map[string]any{"query_string": map[string]any{"query": "a", "default_field": "text"}}, "text:a"},
		{"no query", qs(kw("default_field"), "text"), ""},
		{"query not a string", qs(kw("query"), int64(3)), ""},
		{"bad operator", qs(kw("query"), "a", kw("default_operator"), "XOR"), ""},
		{"unknown param", qs(kw("query"), "a", kw("minimum_should_match"), "2"), ""},
		{"other analyzer", qs(kw("query"), "a", kw("analyzer"), "english"), ""},
		{"negative slop", qs(kw("query"), "a", kw("phrase_slop"), int64(-1)), ""},
		{"unsupported type", transit.NewMap(kw("term"), transit.NewMap(kw("text"), "a")), ""},
		{"two types", transit.NewMap(kw("match_all"), transit.NewMap(), kw("query_string"), transit.NewMap()), ""},
		{"not a map", "clojure", ""},
		{"nil map", (*transit.Map)(nil), ""},
		{"syntax error", qs(kw("query"), "(a"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := FromMap(tt.m)
			if tt.want == "" {
				var qe *Error
				if !errors.Is(err, ErrInvalid) || !errors.As(err, &qe) {
					t.Fatalf("FromMap = %v, %v; want a *Error", q, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromMap: %v", err)
			}
			if q.String() != tt.want {
				t.Errorf("FromMap = %s, want %s", q, tt.want)
			}
		})
	}
}

func TestAnchors(t *testing.T) {
	// Document frequencies: lang:en is in everything, "java" common,
	// "hiring" rarer.
	df := map[string]float64{"lang:en": 1000, "text:java": 100, "text:hiring": 10, "text:job": 50, "text:jobs": 60}
	cost := func(t Term) float64 {
		if c, ok := df[t.Field.Name()+":"+t.Value]; ok {
			return c
		}
		return 1
	}
	tests := []struct {
		in   string
		want string // the anchors, or "-" for none
	}{
		{"(java) AND lang:en", "text:java"},
		{"(java hiring) AND lang:en", "text:hiring"},
		{"(java OR hiring) AND lang:en", "text:java text:hiring"},
		{"(java (job OR jobs)) AND lang:en", "text:java"},
		{"(hiring (job OR jobs)) AND lang:en", "text:hiring"},
		{"(*) AND lang:en", "lang:en"},
		{"*", "-"},
		{"-java", "-"},
		{"java OR clo*", "-"},
		{`"java hiring"`, "text:hiring"},
		{"foo:bar", ""},
		{"retweet_count:5 AND java", "text:java"},
		{"user.verified:true", "user.verified:true"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in, Options{DefaultField: "text", DefaultOperator: And})
		if err != nil {
			t.Fatal(err)
		}
		ts, ok := Anchors(q.Root(), cost)
		got := "-"
		if ok {
			got = ""
			for i, a := range ts {
				if i > 0 {
					got += " "
				}
				got += a.String()
			}
		}
		if got != tt.want {
			t.Errorf("Anchors(%s) = %q, want %q", q, got, tt.want)
		}
	}
}
