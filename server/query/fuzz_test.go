package query_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/query"
)

// FuzzParse checks that parsing never panics, always finishes (a watchdog
// crashes the worker, recording the input, after three seconds), and that
// an accepted query's canonical form parses back to itself and matches
// like the original on the corpus.
func FuzzParse(f *testing.F) {
	for _, c := range corpus.Cases() {
		f.Add(c.Text(), c.Or)
	}
	for _, s := range []string{`a\`, "(((", `"a`, "[a TO", "a^", "a~", "/a", "a:b:c", "+-!", "&& ||",
		"x:[* TO *]", "_exists_:user", "*:*", "?*?", `\\"`, "a~0.5^2~", "\xff\xfe", "(a)^2~", "//////! ", `\*d:*`} {
		f.Add(s, false)
	}
	tweets, err := corpus.Load()
	if err != nil {
		f.Fatal(err)
	}
	docs := make([]*query.Doc, len(tweets))
	for i, t := range tweets {
		docs[i] = query.NewDoc(t)
	}
	f.Fuzz(func(t *testing.T, in string, or bool) {
		opts := query.Options{DefaultField: "text", DefaultOperator: query.And}
		if or {
			opts.DefaultOperator = query.Or
		}
		watchdog := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("slow input %q", in)) })
		defer watchdog.Stop()
		start := time.Now()
		q, err := query.Parse(in, opts)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Parse took %v", d)
		}
		if err != nil {
			if _, ok := err.(*query.Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		q2, err := query.Parse(q.String(), query.Options{})
		var qe *query.Error
		if errors.As(err, &qe) && (strings.Contains(qe.Reason, "too many") || strings.Contains(qe.Reason, "longer than")) {
			return // the canonical form of a large query can exceed the limits
		}
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", q.String(), in, err)
		}
		if q2.String() != q.String() {
			t.Fatalf("canonical form of %q not stable:\n%s\n%s", in, q, q2)
		}
		for _, d := range docs {
			if q.Match(d) != q2.Match(d) {
				t.Fatalf("%q and its canonical form %q disagree on tweet %s", in, q, d.Tweet().IDStr)
			}
		}
	})
}
