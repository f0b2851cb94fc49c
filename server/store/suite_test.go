package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

// tweetStore is what the hub needs from a tweet store. Every
// implementation runs the conformance suite below (docs/design.md §5.4):
// Memory here; an Elasticsearch-backed store would run it too.
type tweetStore interface {
	Add(t *tweet.Tweet) error
	Search(q *query.Query, from, n int) ([]tweet.Stripped, error)
	Get(idStr string) (tweet.Stripped, bool)
	Count() int
	Close() error
}

var _ tweetStore = (*Memory)(nil)

// factory makes an empty store with the given capacity.
type factory func(t *testing.T, capacity int) tweetStore

func TestMemoryConformance(t *testing.T) {
	runSuite(t, func(t *testing.T, capacity int) tweetStore {
		s, err := New(Config{Capacity: capacity})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestPersistentMemoryConformance(t *testing.T) {
	runSuite(t, func(t *testing.T, capacity int) tweetStore {
		s, err := New(Config{Capacity: capacity, Path: t.TempDir() + "/tweets.jsonl"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func runSuite(t *testing.T, newStore factory) {
	t.Run("Cases", func(t *testing.T) { testCases(t, newStore) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, newStore) })
	t.Run("Get", func(t *testing.T) { testGet(t, newStore) })
	t.Run("Eviction", func(t *testing.T) { testEviction(t, newStore) })
	t.Run("OrderAndReplace", func(t *testing.T) { testOrderAndReplace(t, newStore) })
	t.Run("Random", func(t *testing.T) { testRandom(t, newStore) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore) })
}

func addAll(t testing.TB, s tweetStore, tweets []*tweet.Tweet) {
	t.Helper()
	for _, tw := range tweets {
		if err := s.Add(tw); err != nil {
			t.Fatal(err)
		}
	}
}

// numbers returns the corpus numbers of stripped tweets.
func numbers(t testing.TB, res []tweet.Stripped) []int {
	t.Helper()
	out := []int{}
	for _, s := range res {
		id, err := strconv.ParseInt(*s.IDStr, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, int(id-corpus.Base))
	}
	return out
}

func testCases(t *testing.T, newStore factory) {
	s := newStore(t, 100)
	// Reverse order: the store must sort by id, not by arrival.
	tweets := slices.Clone(corpus.MustLoad(t))
	slices.Reverse(tweets)
	addAll(t, s, tweets)
	if s.Count() != 24 {
		t.Fatalf("Count() = %d, want 24", s.Count())
	}
	for _, c := range corpus.Cases() {
		if c.Err {
			continue
		}
		q := corpus.MustParse(t, c.Text(), c.Options())
		if got := numbers(t, search(t, s, q, 0, 500)); !slices.Equal(got, c.Want) {
			t.Errorf("%s: Search(%q) = %v, want %v", c.Name, q, got, c.Want)
		}
	}
}

func testPaging(t *testing.T, newStore factory) {
	s := newStore(t, 100)
	addAll(t, s, corpus.MustLoad(t))
	q := corpus.MustParse(t, "(*) AND lang:en", corpus.ClientOptions)
	all := numbers(t, search(t, s, q, 0, 500))
	tests := []struct{ from, n int }{{0, 5}, {5, 5}, {20, 5}, {22, 5}, {100, 5}, {-3, 2}, {0, 0}, {0, -1}, {3, 1}}
	for _, tt := range tests {
		got := numbers(t, search(t, s, q, tt.from, tt.n))
		from := min(max(tt.from, 0), len(all))
		want := all[from:min(from+max(tt.n, 0), len(all))]
		if !slices.Equal(got, want) {
			t.Errorf("Search(from %d, n %d) = %v, want %v", tt.from, tt.n, got, want)
		}
	}
	if res := search(t, s, corpus.MustParse(t, "nothing_matches_this", corpus.ClientOptions), 0, 10); res == nil || len(res) != 0 {
		t.Errorf("empty result = %#v, want an empty non-nil slice", res)
	}
}

func testGet(t *testing.T, newStore factory) {
	s := newStore(t, 100)
	tweets := corpus.MustLoad(t)
	addAll(t, s, tweets)
	for _, tw := range tweets {
		got, ok := s.Get(tw.IDStr)
		if !ok || *got.IDStr != tw.IDStr || *got.Text != tw.Text {
			t.Errorf("Get(%s) = %v, %v", tw.IDStr, got.IDStr, ok)
		}
		if (got.RetweetedStatus != nil) != (tw.RetweetedStatus != nil) {
			t.Errorf("Get(%s): retweeted_status presence differs", tw.IDStr)
		}
	}
	for _, id := range []string{"1", "", "abc", "546814306545344599", "99999999999999999999999"} {
		if _, ok := s.Get(id); ok {
			t.Errorf("Get(%q) found a tweet", id)
		}
	}
}

func testEviction(t *testing.T, newStore factory) {
	s := newStore(t, 10)
	tweets := corpus.MustLoad(t)
	addAll(t, s, tweets)
	if s.Count() != 10 {
		t.Fatalf("Count() = %d, want 10", s.Count())
	}
	q := corpus.MustParse(t, "*", corpus.ClientOptions)
	if got, want := numbers(t, search(t, s, q, 0, 100)), []int{24, 23, 22, 21, 20, 19, 18, 17, 16, 15}; !slices.Equal(got, want) {
		t.Errorf("after eviction: %v, want %v", got, want)
	}
	for _, tw := range tweets[:14] {
		if _, ok := s.Get(tw.IDStr); ok {
			t.Errorf("evicted tweet %s still found", tw.IDStr)
		}
	}
	// Index entries of evicted tweets are gone: "java" is only in 22 now.
	if got := numbers(t, search(t, s, corpus.MustParse(t, "java", corpus.ClientOptions), 0, 100)); !slices.Equal(got, []int{22}) {
		t.Errorf("java after eviction = %v, want [22]", got)
	}
	// A tweet older than everything kept is not stored in a full store.
	if err := s.Add(tweets[0]); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(tweets[0].IDStr); ok || s.Count() != 10 {
		t.Errorf("an old tweet was added to a full store (count %d)", s.Count())
	}
}

func testOrderAndReplace(t *testing.T, newStore factory) {
	s := newStore(t, 100)
	tweets := corpus.MustLoad(t)
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := slices.Clone(tweets)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	addAll(t, s, shuffled)
	// Replace tweet 13 by a version with other text.
	c := *tweets[12].Slim()
	c.Text = "replaced completely"
	if err := s.Add(&c); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 24 {
		t.Errorf("Count() = %d after replacing, want 24", s.Count())
	}
	if got := numbers(t, search(t, s, corpus.MustParse(t, "fox", corpus.ClientOptions), 0, 100)); !slices.Equal(got, []int{14}) {
		t.Errorf("fox after replacing 13 = %v, want [14]", got)
	}
	if got := numbers(t, search(t, s, corpus.MustParse(t, "replaced", corpus.ClientOptions), 0, 100)); !slices.Equal(got, []int{13}) {
		t.Errorf("replaced = %v, want [13]", got)
	}
	if got := numbers(t, search(t, s, corpus.MustParse(t, "*", corpus.ClientOptions), 0, 3)); !slices.Equal(got, []int{24, 23, 22}) {
		t.Errorf("newest = %v", got)
	}
	if err := s.Add(&tweet.Tweet{Text: "no id"}); err != ErrNoID {
		t.Errorf("Add without id = %v, want ErrNoID", err)
	}
}

// randomQueries returns queries over the synthetic vocabulary that
// exercise every planning path.
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
		func() string { return "user.screen_name:" + word() + "* OR " + word() },
		func() string { return "retweet_count:[1 TO *] " + word() },
		func() string { return "_exists_:retweeted_status AND " + word() },
		func() string { return "(" + word() + " OR " + word() + ") -(" + word() + " " + word() + ")" },
		func() string { return "user.followers_count:>1000 OR entities.hashtags.text:" + word() },
		func() string { return "*" },
	}
	out := make([]string, n)
	for i := range out {
		out[i] = forms[rng.IntN(len(forms))]()
	}
	return out
}

// testRandom compares the index with query.Node.Match over synthetic
// tweets, after evictions.
func testRandom(t *testing.T, newStore factory) {
	s := newStore(t, 1500)
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 7, Start: time.Date(2014, 12, 22, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var all []*tweet.Tweet
	for range 2000 {
		tw := g.Next()
		all = append(all, tw)
		if err := s.Add(tw); err != nil {
			t.Fatal(err)
		}
	}
	kept := all[len(all)-1500:]
	rng := rand.New(rand.NewPCG(3, 4))
	d := query.NewDoc(nil)
	for _, text := range randomQueries(rng, 150) {
		q := corpus.MustParse(t, "("+text+") AND lang:en", corpus.ClientOptions)
		var want []string
		for i := len(kept) - 1; i >= 0; i-- {
			d.Reset(kept[i])
			if q.Match(d) {
				want = append(want, kept[i].IDStr)
			}
		}
		from := rng.IntN(3) * 20
		want = want[min(from, len(want)):]
		want = want[:min(len(want), 50)]
		var got []string
		for _, r := range search(t, s, q, from, 50) {
			got = append(got, *r.IDStr)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Search(%s, from %d): %d results, want %d\n got %v\nwant %v", q, from, len(got), len(want), got, want)
		}
	}
}

func testConcurrent(t *testing.T, newStore factory) {
	s := newStore(t, 300)
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	tweets := make([]*tweet.Tweet, 1000)
	for i := range tweets {
		tweets[i] = g.Next()
	}
	q := corpus.MustParse(t, "(clojure OR java OR protest) AND lang:en", corpus.ClientOptions)
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, tw := range tweets {
			if err := s.Add(tw); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for w := range 3 {
		wg.Go(func() {
			for i := range 200 {
				res := search(t, s, q, 0, 20)
				for j := 1; j < len(res); j++ {
					if *res[j].ID >= *res[j-1].ID {
						t.Errorf("worker %d: results not newest first", w)
						return
					}
				}
				s.Get(tweets[i*5%len(tweets)].IDStr)
				if n := s.Count(); n > 300 {
					t.Errorf("Count() = %d over capacity", n)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.Count() != 300 {
		t.Errorf("Count() = %d, want 300", s.Count())
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Capacity: -1},
		{Capacity: MaxCapacity + 1},
		{IndexedFields: []string{"nosuch"}},
		{IndexedFields: []string{"retweet_count"}},
		{Path: "/nonexistent-dir/x/y.jsonl"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted an invalid configuration", cfg)
		}
	}
	s, err := New(Config{IndexedFields: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	// Without any index every query is answered by checking tweets.
	addAll(t, s, corpus.MustLoad(t))
	for _, c := range corpus.Cases() {
		if c.Err {
			continue
		}
		if got := numbers(t, search(t, s, corpus.MustParse(t, c.Text(), c.Options()), 0, 500)); !slices.Equal(got, c.Want) {
			t.Errorf("%s without index: %v, want %v", c.Name, got, c.Want)
		}
	}
}

func TestDocFreq(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	addAll(t, s, corpus.MustLoad(t))
	text, _ := query.LookupField("text")
	lang, _ := query.LookupField("lang")
	rc, _ := query.LookupField("retweet_count")
	for _, tt := range []struct {
		f    query.Field
		term string
		n    int
		ok   bool
	}{{text, "clojure", 7, true}, {text, "jobs", 5, true}, {text, "nope", 0, true}, {lang, "en", 22, true}, {rc, "1", 0, false}} {
		if n, ok := s.DocFreq(tt.f, tt.term); n != tt.n || ok != tt.ok {
			t.Errorf("DocFreq(%s, %s) = %d, %v; want %d, %v", tt.f, tt.term, n, ok, tt.n, tt.ok)
		}
	}
}

func ExampleMemory() {
	s, _ := New(Config{Capacity: 1000})
	defer s.Close()
	tweets, _ := corpus.Load()
	for _, t := range tweets {
		s.Add(t)
	}
	q, _ := query.Parse("(java (job OR jobs OR hiring)) AND lang:en", query.Options{DefaultField: "text", DefaultOperator: query.And})
	res, err := s.Search(q, 0, 500)
	if err != nil {
		fmt.Println(err)
	}
	for _, t := range res {
		fmt.Println(*t.IDStr, *t.Text)
	}
	// Output:
	// 546814306545344512 java jobs jobs jobs hiring now
	// 546814306545344508 Jobs in Berlin: Java, Scala, Clojure
	// 546814306545344504 RT @techweekly: Java job: senior developer wanted, remote OK #jobs #hiring
	// 546814306545344502 Java job: senior developer wanted, remote OK #jobs #hiring
}

// search is s.Search for a test: an error fails the test (t.Error, so it
// may be called from any goroutine) and gives an empty result.
func search(t testing.TB, s interface {
	Search(q *query.Query, from, n int) ([]tweet.Stripped, error)
}, q *query.Query, from, n int) []tweet.Stripped {
	t.Helper()
	res, err := s.Search(q, from, n)
	if err != nil {
		t.Errorf("Search(%s, %d, %d): %v", q, from, n, err)
		return []tweet.Stripped{}
	}
	return res
}
