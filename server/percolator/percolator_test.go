package percolator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

// livePercolator is what the hub needs from a percolator; every
// implementation runs the conformance suite below.
type livePercolator interface {
	Register(uid string, q *query.Query) error
	Remove(uid string)
	Match(t *tweet.Tweet) []string
}

var _ livePercolator = (*Percolator)(nil)

func TestConformance(t *testing.T) {
	run := func(t *testing.T, cfg Config) {
		newP := func() livePercolator { return New(cfg) }
		t.Run("Cases", func(t *testing.T) { testCases(t, newP()) })
		t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newP()) })
		t.Run("Random", func(t *testing.T) { testRandom(t, newP()) })
		t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newP()) })
	}
	t.Run("heuristic", func(t *testing.T) { run(t, Config{}) })
	t.Run("docfreq", func(t *testing.T) {
		// Document frequencies from the corpus itself.
		tweets := corpus.MustLoad(t)
		df := map[query.Field]map[string]int{}
		for _, tw := range tweets {
			d := query.NewDoc(tw)
			for f := range query.Field(query.NumFields) {
				if f.Kind() == query.Number {
					continue
				}
				seen := map[string]bool{}
				for _, tok := range d.Tokens(f) {
					if !seen[tok.Text] {
						seen[tok.Text] = true
						if df[f] == nil {
							df[f] = map[string]int{}
						}
						df[f][tok.Text]++
					}
				}
			}
		}
		run(t, Config{DocFreq: func(f query.Field, term string) (int, bool) { return df[f][term], true }})
	})
}

// testCases registers every query of the shared table under its own uid
// (and some under two), then checks which tweets reach each uid.
func testCases(t *testing.T, p livePercolator) {
	tweets := corpus.MustLoad(t)
	cases := corpus.Cases()
	for _, c := range cases {
		if !c.Err {
			register(t, p, c.Name, corpus.MustParse(t, c.Text(), c.Options()))
			register(t, p, c.Name+"/twin", corpus.MustParse(t, c.Text(), c.Options()))
		}
	}
	got := map[string][]int{}
	for i := len(tweets) - 1; i >= 0; i-- { // newest first
		tw := tweets[i]
		uids := p.Match(tw)
		seen := map[string]bool{}
		for _, uid := range uids {
			if seen[uid] {
				t.Errorf("uid %s delivered tweet %s twice", uid, tw.IDStr)
			}
			seen[uid] = true
			got[uid] = append(got[uid], int(tw.ID-corpus.Base))
		}
	}
	for _, c := range cases {
		if c.Err {
			continue
		}
		want := c.Want
		if len(want) == 0 {
			want = nil
		}
		for _, uid := range []string{c.Name, c.Name + "/twin"} {
			if !slices.Equal(got[uid], want) {
				t.Errorf("%s: tweets delivered %v, want %v", uid, got[uid], want)
			}
		}
	}
}

func testLifecycle(t *testing.T, p livePercolator) {
	tweets := corpus.MustLoad(t)
	java, clojure := tweets[1], tweets[0] // tweet 2 mentions java, tweet 1 clojure
	register(t, p, "u1", corpus.MustParse(t, "(java) AND lang:en", corpus.ClientOptions))
	register(t, p, "u2", corpus.MustParse(t, "(java) AND lang:en", corpus.ClientOptions))
	if got := sorted(p.Match(java)); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("Match = %v, want [u1 u2]", got)
	}
	// A new registration replaces the old one.
	register(t, p, "u1", corpus.MustParse(t, "(clojure) AND lang:en", corpus.ClientOptions))
	if got := sorted(p.Match(java)); !slices.Equal(got, []string{"u2"}) {
		t.Errorf("after replacing u1's query: %v, want [u2]", got)
	}
	if got := sorted(p.Match(clojure)); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("u1's new query: %v, want [u1]", got)
	}
	// Registering the same query again changes nothing.
	register(t, p, "u1", corpus.MustParse(t, "(clojure)   AND lang:en", corpus.ClientOptions))
	if got := sorted(p.Match(clojure)); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("re-registration: %v, want [u1]", got)
	}
	p.Remove("u2")
	p.Remove("u2")
	p.Remove("never-registered")
	if got := p.Match(java); len(got) != 0 {
		t.Errorf("after Remove: %v, want nothing", got)
	}
	p.Remove("u1")
	if got := p.Match(clojure); len(got) != 0 {
		t.Errorf("after removing everyone: %v", got)
	}
}

// register registers q for uid, and fails the test if p refuses it.
func register(t *testing.T, p livePercolator, uid string, q *query.Query) {
	t.Helper()
	if err := p.Register(uid, q); err != nil {
		t.Errorf("Register(%s, %s): %v", uid, q.Text(), err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// randomQueries returns realistic searches over the synthetic vocabulary,
// plus forms that exercise every compiled and fallback path.
func randomQueries(rng *rand.Rand, n int) []string {
	topics := source.Topics()
	word := func() string {
		tp := topics[rng.IntN(len(topics))]
		return tp.Words[rng.IntN(min(len(tp.Words), 25))]
	}
	forms := []func() string{
		func() string { return word() },
		func() string { return word() + " " + word() },
		func() string { return word() + " OR " + word() },
		func() string { return word() + " -" + word() },
		func() string { return "-" + word() },
		func() string { return `"` + word() + " " + word() + `"~3` },
		func() string { return word()[:2] + "*" },
		func() string { return word() + "~1" },
		func() string { return "retweet_count:[1 TO *] " + word() },
		func() string { return "_exists_:retweeted_status AND " + word() },
		func() string { return "(" + word() + " OR " + word() + ") -(" + word() + " " + word() + ")" },
		func() string { return "user.verified:true OR entities.hashtags.text:" + word() },
		func() string { return "*" },
	}
	out := make([]string, n)
	for i := range out {
		out[i] = "(" + forms[rng.IntN(len(forms))]() + ") AND lang:en"
	}
	return out
}

// testRandom compares Match with query.Node.Match on synthetic tweets.
func testRandom(t *testing.T, p livePercolator) {
	rng := rand.New(rand.NewPCG(5, 6))
	queries := map[string]*query.Query{}
	for i, text := range randomQueries(rng, 400) {
		uid := fmt.Sprintf("uid-%d", i)
		queries[uid] = corpus.MustParse(t, text, corpus.ClientOptions)
		register(t, p, uid, queries[uid])
	}
	// Remove a few and re-register others, so that slots are reused.
	for i := 0; i < 400; i += 7 {
		uid := fmt.Sprintf("uid-%d", i)
		p.Remove(uid)
		delete(queries, uid)
	}
	for i, text := range randomQueries(rng, 30) {
		uid := fmt.Sprintf("uid-%d", i*13)
		queries[uid] = corpus.MustParse(t, text, corpus.ClientOptions)
		register(t, p, uid, queries[uid])
	}
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 11, Start: time.Date(2014, 12, 22, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	d := query.NewDoc(nil)
	for range 400 {
		tw := g.Next()
		d.Reset(tw)
		var want []string
		for uid, q := range queries {
			if q.Match(d) {
				want = append(want, uid)
			}
		}
		slices.Sort(want)
		if got := sorted(p.Match(tw)); !slices.Equal(got, want) {
			t.Fatalf("tweet %q: got %v, want %v", tw.Text, got, want)
		}
	}
}

func testConcurrent(t *testing.T, p livePercolator) {
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	tweets := make([]*tweet.Tweet, 300)
	for i := range tweets {
		tweets[i] = g.Next()
	}
	texts := randomQueries(rand.New(rand.NewPCG(1, 1)), 50)
	qs := make([]*query.Query, len(texts))
	for i, text := range texts {
		qs[i] = corpus.MustParse(t, text, corpus.ClientOptions)
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 300 {
				uid := fmt.Sprintf("w%d-%d", w, i%20)
				if i%3 == 0 {
					p.Remove(uid)
				} else {
					register(t, p, uid, qs[(i*7+w)%len(qs)])
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for _, tw := range tweets {
				p.Match(tw)
			}
		})
	}
	wg.Wait()
}

// TestIndexCleanup checks that removing every uid frees every entry and
// term, and that identical queries share one entry.
func TestIndexCleanup(t *testing.T) {
	p := New(Config{})
	rng := rand.New(rand.NewPCG(8, 9))
	texts := randomQueries(rng, 200)
	for i, text := range texts {
		q := corpus.MustParse(t, text, corpus.ClientOptions)
		register(t, p, fmt.Sprint("a", i), q)
		register(t, p, fmt.Sprint("b", i), q)
	}
	// The client's queries are all anchored (at worst on lang:en); a raw
	// wildcard is not.
	register(t, p, "w", corpus.MustParse(t, "clo*", corpus.ClientOptions))
	st := p.Stats()
	if st.UIDs != 401 || st.Queries > 201 || st.Queries == 0 || st.Terms == 0 {
		t.Errorf("Stats() = %+v", st)
	}
	if st.Always != 1 {
		t.Errorf("%d queries without anchors, want 1 (clo*)", st.Always)
	}
	p.Remove("w")
	if q, ok := p.Lookup("a3"); !ok || q.Text() != texts[3] {
		t.Errorf("Lookup(a3) = %v, %v", q, ok)
	}
	for i := range texts {
		p.Remove(fmt.Sprint("a", i))
		p.Remove(fmt.Sprint("b", i))
	}
	if st := p.Stats(); st != (Stats{}) {
		t.Errorf("after removing everything: %+v", st)
	}
	if p.Len() != 0 {
		t.Errorf("Len() = %d", p.Len())
	}
	// A query that matches nothing is kept but never checked.
	register(t, p, "x", corpus.MustParse(t, "foo:bar", corpus.ClientOptions))
	if st := p.Stats(); st.Queries != 1 || st.Always != 0 {
		t.Errorf("match-nothing query: %+v", p.Stats())
	}
}

// TestAnchorChoice checks that the client's "(word) AND lang:en" is not
// indexed under lang:en, with and without document frequencies.
func TestAnchorChoice(t *testing.T) {
	for name, cfg := range map[string]Config{
		"heuristic": {},
		"docfreq": {DocFreq: func(f query.Field, term string) (int, bool) {
			if f.Name() == "lang" {
				return 1000, true
			}
			return 3, true
		}},
	} {
		p := New(cfg)
		register(t, p, "u", corpus.MustParse(t, "(protest) AND lang:en", corpus.ClientOptions))
		p.mu.RLock()
		var anchored []string
		for id, list := range p.postings {
			if len(list) > 0 {
				anchored = append(anchored, p.termKeys[id].f.Name()+":"+p.termKeys[id].term)
			}
		}
		p.mu.RUnlock()
		if !slices.Equal(anchored, []string{"text:protest"}) {
			t.Errorf("%s: anchored under %v, want [text:protest]", name, anchored)
		}
	}
}
