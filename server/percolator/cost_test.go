package percolator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/query"
)

// clientQuery parses a search as BirdWatch's client sends it.
func clientQuery(t testing.TB, search string) *query.Query {
	t.Helper()
	return corpus.MustParse(t, "("+search+") AND lang:en", corpus.ClientOptions)
}

// TestCost checks the costs the package documentation quotes.
func TestCost(t *testing.T) {
	for _, c := range []struct {
		search string
		want   int
	}{
		{"*", 1}, // lang:en alone
		{"foo*", 202},
		{"hello~", 3002},
		{"java (job OR jobs OR hiring)", 7},
	} {
		if got := Cost(clientQuery(t, c.search)); got != c.want {
			t.Errorf("Cost(%q) = %d, want %d", c.search, got, c.want)
		}
	}
	// 19 wildcards are free, 20 are not (distinct ones: a clause given
	// twice counts once).
	for n, free := range map[int]bool{19: true, 20: false} {
		words := make([]string, n)
		for i := range words {
			words[i] = fmt.Sprintf("foo%d*", i)
		}
		search := strings.Join(words, " ")
		if got := Cost(clientQuery(t, search)); (got <= DefaultFreeScanCost) != free {
			t.Errorf("Cost(%d wildcards) = %d, free %v, want %v", n, got, !free, free)
		}
	}
}

// fuzzySearch returns a search of n fuzzy words, OR'ed, distinct for each
// seed.
func fuzzySearch(seed, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = fmt.Sprintf("word%dx%d~", seed, i)
	}
	return strings.Join(words, " OR ")
}

// TestCostLimits checks that Register refuses queries over the per-query
// limit and scanned queries over the scan budget, leaving the uid's
// previous query in place, while the cheap searches everyone makes are
// accepted with the budget full.
func TestCostLimits(t *testing.T) {
	p := New(Config{})
	raw := func(text string) *query.Query { return corpus.MustParse(t, text, query.Options{DefaultField: "text"}) }

	// Issue 14's query: 300 fuzzy terms, no anchor.
	register(t, p, "u", clientQuery(t, "clojure"))
	err := p.Register("u", raw(fuzzySearch(0, 300)))
	if !errors.Is(err, ErrTooCostly) {
		t.Fatalf("Register(300 fuzzy terms) = %v, want ErrTooCostly", err)
	}
	if q, _ := p.Lookup("u"); q == nil || q.Text() != "(clojure) AND lang:en" {
		t.Fatalf("after a refusal, u's query is %v, want its previous one", q)
	}

	// Fill the scan list with queries just under the per-query limit,
	// unanchored or anchored on lang:en alone (checked for every tweet
	// all the same).
	accepted := 0
	for i := 0; ; i++ {
		q := raw(fuzzySearch(i+1, 16))
		if i%2 == 1 {
			q = clientQuery(t, fuzzySearch(i+1, 16))
		}
		if Cost(q) > DefaultMaxQueryCost {
			t.Fatalf("test query costs %d, over the per-query limit", Cost(q))
		}
		if err := p.Register(fmt.Sprint("flood-", i), q); err != nil {
			if !errors.Is(err, ErrTooCostly) {
				t.Fatal(err)
			}
			break
		}
		accepted++
	}
	st := p.Stats()
	if accepted == 0 || st.ScanCost > DefaultMaxScanCost || st.Scanned != accepted {
		t.Fatalf("%d costly queries accepted; stats %+v", accepted, st)
	}

	// A uid replacing its own costly query frees its cost first.
	register(t, p, "flood-0", raw(fuzzySearch(1000, 16)))

	// A cheap search is accepted all the same, and so is a costly query
	// already registered (it costs nothing more).
	for i, s := range []string{"*", "foo*", "hello~", "java (job OR jobs OR hiring)", `"hello world"`, "retweet_count:[1 TO *]"} {
		register(t, p, fmt.Sprint("user-", i), clientQuery(t, s))
	}
	for i, text := range randomQueries(rand.New(rand.NewPCG(1, 2)), 200) {
		register(t, p, fmt.Sprint("random-", i), corpus.MustParse(t, text, corpus.ClientOptions))
	}
	q0, _ := p.Lookup("flood-0")
	register(t, p, "twin", q0)

	// Another costly one does not fit until some leave (the cheap ones
	// count too).
	costly := raw(fuzzySearch(2000, 16))
	if err := p.Register("late", costly); !errors.Is(err, ErrTooCostly) {
		t.Fatalf("Register(costly, budget full) = %v, want ErrTooCostly", err)
	}
	p.Remove("flood-1")
	p.Remove("flood-2")
	register(t, p, "late", costly)
	if st := p.Stats(); st.ScanCost > DefaultMaxScanCost {
		t.Fatalf("scan cost %d over the budget", st.ScanCost)
	}

	// The per-query limit holds for anchored queries too.
	if err := p.Register("u", clientQuery(t, "clojure AND ("+fuzzySearch(3000, 20)+")")); !errors.Is(err, ErrTooCostly) {
		t.Fatalf("Register(anchored, 20 fuzzy terms) = %v, want ErrTooCostly", err)
	}
}

// TestCostLimitsConfig checks that negative limits mean none.
func TestCostLimitsConfig(t *testing.T) {
	p := New(Config{MaxQueryCost: -1, MaxScanCost: -1})
	for i := range 30 {
		register(t, p, fmt.Sprint("u", i), corpus.MustParse(t, fuzzySearch(i, 300), query.Options{DefaultField: "text"}))
	}
	p = New(Config{MaxScanCost: 10, FreeScanCost: -1})
	if err := p.Register("u", clientQuery(t, "foo*")); !errors.Is(err, ErrTooCostly) {
		t.Fatalf("Register(foo*) with no free cost and a budget of 10 = %v, want ErrTooCostly", err)
	}
}
