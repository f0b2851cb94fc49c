package store

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

// unlimited are limits no query reaches.
var unlimited = limits{maxExpansions: math.MaxInt32, maxClauses: math.MaxInt32, maxWork: math.MaxInt64, timeout: -1}

// ids returns the ids of tweets.
func ids(tweets []*tweet.Tweet) []int64 {
	out := make([]int64, len(tweets))
	for i, t := range tweets {
		out[i] = t.ID
	}
	return out
}

// TestAdversarialQueries runs the hostile searches of issue 14 against
// 100,000 tweets: each is answered (with the results it has without
// limits) or refused with ErrOverBudget, as expected, having done at most
// about MaxWork units of work and allocated a bounded amount of memory
// (before the budget, the worst took 114 s and 6 GB).
func TestAdversarialQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a store of 100,000 tweets")
	}
	s := hundredKStore()
	for _, a := range adversarialSearches() {
		t.Run(a.name, func(t *testing.T) {
			q := corpus.MustParse(t, "("+a.text+") AND lang:en", corpus.ClientOptions)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			hits, b := s.search(q, 0, 500, s.limits)
			runtime.ReadMemStats(&after)
			switch {
			case b.err == nil:
				want, _ := s.search(q, 0, 500, unlimited)
				if !slices.Equal(ids(hits), ids(want)) {
					t.Errorf("%d results, want the %d found without limits", len(hits), len(want))
				}
			case !errors.Is(b.err, ErrOverBudget):
				t.Fatalf("error %v, want ErrOverBudget", b.err)
			}
			if refused := b.err != nil; refused != a.refused {
				t.Errorf("refused = %v (%v, %d units of work), want %v", refused, b.err, b.work, a.refused)
			}
			// The last charge may overshoot the limit, but is made before
			// the work it stands for (a bucket of the dictionary).
			if limit := s.limits.maxWork; b.work > limit+limit/2 {
				t.Errorf("stopped after %d units of work, limit %d", b.work, limit)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 && !raceEnabled {
				t.Errorf("allocated %d MB", alloc>>20)
			}
			t.Logf("%d units of work, %d clauses: %v", b.work, b.clauses, b.err)
		})
	}
}

// TestNormalSearchesWithinBudget checks that BirdWatch searches at
// 100,000 tweets stay far below the default limits and find what they
// find without them.
func TestNormalSearchesWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a store of 100,000 tweets")
	}
	s := hundredKStore()
	texts := []string{
		"protest police", "clojure transducers", "java hiring", "golang goroutine", "nasa comet",
		"protest clojure", "java (job OR jobs OR hiring)", "*", `"grand jury"`, "transduc*",
		"a*", "pr*", "#jobs", "protset~", "clojrue~", "jobz~1", "/clo.*/", "/ja[vw]a/",
		"text:[reagent TO reducers]", "-protest", "user.screen_name:j*", "retweet_count:[10 TO *]",
		"user.followers_count:>=100000", "_exists_:retweeted_status AND java",
	}
	texts = append(texts, randomQueries(rand.New(rand.NewPCG(14, 1)), 100)...)
	var queries []*query.Query
	for _, text := range texts {
		queries = append(queries, corpus.MustParse(t, "("+text+") AND lang:en", corpus.ClientOptions))
	}
	firstPage := map[*query.Query]bool{}
	for _, c := range corpus.Cases() {
		switch c.Name {
		case "all fields", "field wildcard":
			// Fields that are not indexed, all of whose tweets are checked:
			// at 100,000 tweets these cost more than MaxWork (see below).
			continue
		}
		if c.Err {
			continue
		}
		q := corpus.MustParse(t, c.Text(), c.Options())
		if c.Name == "retweeted text" {
			// The same, but its first 500 results are found in time.
			firstPage[q] = true
		}
		queries = append(queries, q)
	}
	for _, q := range queries {
		for _, from := range []int{0, 4500} {
			if from > 0 && firstPage[q] {
				continue
			}
			hits, b := s.search(q, from, 500, s.limits)
			if b.err != nil {
				t.Errorf("Search(%s, from %d): %v", q, from, b.err)
				continue
			}
			if b.work > s.limits.maxWork/2 || b.clauses > s.limits.maxClauses/10 {
				t.Errorf("Search(%s, from %d): %d units of work, %d clauses: near the limits", q, from, b.work, b.clauses)
			}
			want, _ := s.search(q, from, 500, unlimited)
			if !slices.Equal(ids(hits), ids(want)) {
				t.Errorf("Search(%s, from %d): %d results, want the %d found without limits", q, from, len(hits), len(want))
			}
		}
	}
	// What a search of fields that are not indexed costs: every English
	// tweet checked, each of its user fields analysed.
	q := corpus.MustParse(t, `(user.\*:janedoe) AND lang:en`, corpus.ClientOptions)
	if _, err := s.Search(q, 0, 500); !errors.Is(err, ErrOverBudget) {
		t.Errorf("Search(%s) = %v, want ErrOverBudget", q, err)
	}
}

// corpusStore returns a store of the corpus with cfg's limits.
func corpusStore(t *testing.T, cfg Config) *Memory {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addAll(t, s, corpus.MustLoad(t))
	return s
}

// TestBudgetLimits checks each limit on the corpus: a query within them is
// answered as without limits, one beyond them refused with the reason.
func TestBudgetLimits(t *testing.T) {
	tests := []struct {
		cfg     Config
		search  string
		refusal string // "" when answered
	}{
		{Config{MaxExpansions: 1}, "clo*", "text:clo* expands to more than 1 terms"},
		{Config{MaxExpansions: 1}, "clojurescr*", ""},
		{Config{MaxExpansions: 2}, "j?b*", ""},
		{Config{MaxExpansions: 1}, "jobs~1", "text:jobs~1 expands to more than 1 terms"},
		{Config{MaxClauses: 3}, "java job hiring", "more than 3 terms"},
		{Config{MaxClauses: 3}, "java job", ""},
		{Config{MaxClauses: 3}, `"senior developer"`, ""},
		{Config{MaxClauses: 3}, `"senior developer wanted"`, "more than 3 terms"},
		{Config{MaxClauses: 3}, "java (jobs OR hiring*)", "more than 3 terms"},
		{Config{MaxWork: 60}, "*", ""},
		{Config{MaxWork: 60}, "java OR clojure OR go", ""},
		{Config{MaxWork: 60}, "_all:berlin", "more than 60 units of work"},
		{Config{MaxWork: 60}, "*script", "more than 60 units of work"},
		{Config{MaxWork: 5000}, "*script", ""},
	}
	unlimitedStore := corpusStore(t, Config{})
	for _, tt := range tests {
		s := corpusStore(t, tt.cfg)
		q := corpus.MustParse(t, "("+tt.search+") AND lang:en", corpus.ClientOptions)
		res, err := s.Search(q, 0, 500)
		want := search(t, unlimitedStore, q, 0, 500)
		switch {
		case tt.refusal == "" && err != nil:
			t.Errorf("%s: Search(%s): %v", tt.cfg.limitsString(), q, err)
		case tt.refusal == "" && !slices.Equal(numbers(t, res), numbers(t, want)):
			t.Errorf("%s: Search(%s) = %v, want %v", tt.cfg.limitsString(), q, numbers(t, res), numbers(t, want))
		case tt.refusal != "" && (!errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), tt.refusal) || res != nil):
			t.Errorf("%s: Search(%s) = %d results, %v; want ErrOverBudget (%s)", tt.cfg.limitsString(), q, len(res), err, tt.refusal)
		}
	}
}

// limitsString shows the limits of cfg for a test's message.
func (cfg Config) limitsString() string {
	return fmt.Sprintf("MaxExpansions %d, MaxClauses %d, MaxWork %d", cfg.MaxExpansions, cfg.MaxClauses, cfg.MaxWork)
}

func TestBudgetConfig(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := limits{maxExpansions: DefaultMaxExpansions, maxClauses: DefaultMaxClauses, maxWork: DefaultMaxWork, timeout: DefaultSearchTimeout}
	if s.limits != want {
		t.Errorf("limits of the zero Config = %+v, want %+v", s.limits, want)
	}
	for _, cfg := range []Config{{MaxExpansions: -1}, {MaxClauses: -1}, {MaxWork: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted a negative limit", cfg)
		}
	}
	if s, err := New(Config{SearchTimeout: -1}); err != nil || s.limits.timeout >= 0 {
		t.Errorf("New with a negative timeout: %v, timeout %v", err, s.limits.timeout)
	}
}

// TestSearchTimeout checks the backstop: a search still running after
// SearchTimeout stops. The clock is read every clockEvery units, so a
// search shorter than that is never stopped.
func TestSearchTimeout(t *testing.T) {
	s, err := New(Config{SearchTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * clockEvery {
		if err := s.Add(g.Next()); err != nil {
			t.Fatal(err)
		}
	}
	all := corpus.MustParse(t, "*", corpus.ClientOptions)
	if res, err := s.Search(all, 0, 100); err != nil || len(res) != 100 {
		t.Errorf("a short search: %d results, %v", len(res), err)
	}
	if _, err := s.Search(all, 0, MaxPage); !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), "still running after 1ns") {
		t.Errorf("a long search: %v, want a timeout", err)
	}
}

// TestUnionIter compares unions of random sets with the sets, for random
// descending targets, and checks that a union stops once the budget is
// exhausted.
func TestUnionIter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	for round := range 200 {
		b := newBudget(unlimited)
		sets := make([][]int64, 1+rng.IntN(40))
		its := make([]iterator, len(sets))
		for i := range sets {
			for range rng.IntN(30) {
				sets[i] = append(sets[i], rng.Int64N(500))
			}
			slices.Sort(sets[i])
			sets[i] = slices.Compact(sets[i])
			its[i] = newPostingIter(sets[i], b)
		}
		u := newUnionIter(its, b)
		target := int64(math.MaxInt64)
		for {
			want := int64(none)
			for _, set := range sets {
				for _, x := range set {
					if x <= target {
						want = max(want, x)
					}
				}
			}
			got := u.advance(target)
			if got != want {
				t.Fatalf("round %d: advance(%d) = %d, want %d", round, target, got, want)
			}
			if got == none {
				break
			}
			target = got - 1 - rng.Int64N(3)*rng.Int64N(20) // sometimes jump
		}
	}
	b := newBudget(limits{maxWork: 10})
	u := newUnionIter([]iterator{newPostingIter([]int64{1, 2, 3, 4, 5, 6, 7, 8}, b), newPostingIter([]int64{2, 4, 6, 8, 10, 12}, b)}, b)
	n := 0
	for x := u.advance(math.MaxInt64); x != none; x = u.advance(x - 1) {
		n++
	}
	if n >= 10 || !errors.Is(b.err, ErrOverBudget) {
		t.Errorf("union over a budget of 10: %d ids, error %v", n, b.err)
	}
}
