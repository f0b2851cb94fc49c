package store

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

// The history benchmark of issue 5: a two-term query over 1,000,000
// synthetic tweets, the first 500 newest (target ≤ 5 ms). Run with
//
//	go test -run '^$' -bench History -benchtime 200x ./server/store/
//
// Building the store takes a few seconds and about 2 GB; it happens once.

const benchTweets = 1_000_000

type benchStore struct {
	s         *Memory
	build     time.Duration
	heapBytes uint64
}

var millionStore = sync.OnceValue(func() benchStore {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := New(Config{Capacity: benchTweets})
	if err != nil {
		panic(err)
	}
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 2014, Start: time.Date(2014, 12, 1, 0, 0, 0, 0, time.UTC), Rate: 20})
	if err != nil {
		panic(err)
	}
	for range benchTweets {
		if err := s.Add(g.Next()); err != nil {
			panic(err)
		}
	}
	build := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	return benchStore{s: s, build: build, heapBytes: after.HeapAlloc - before.HeapAlloc}
})

func BenchmarkHistory(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a store of 1,000,000 tweets")
	}
	bs := millionStore()
	s := bs.s
	b.Logf("store: %d tweets built in %v, %.0f MB heap", s.Count(), bs.build.Round(time.Millisecond), float64(bs.heapBytes)/1e6)
	text, _ := query.LookupField("text")
	opts := query.Options{DefaultField: "text", DefaultOperator: query.And}
	for _, c := range []struct {
		name, search string
		from         int
	}{
		// Two terms of one topic: common, medium and rare pairs.
		{"two-terms/protest-police", "protest police", 0},
		{"two-terms/clojure-transducers", "clojure transducers", 0},
		{"two-terms/java-hiring", "java hiring", 0},
		{"two-terms/golang-goroutine", "golang goroutine", 0},
		{"two-terms/nasa-comet", "nasa comet", 0},
		// Words of different topics: few results, so the whole
		// intersection is walked.
		{"two-terms/protest-clojure", "protest clojure", 0},
		// The tenth chunk of a search (from 4500).
		{"two-terms/protest-police/from-4500", "protest police", 4500},
		// The UI's example and the empty search.
		{"ui-example", "java (job OR jobs OR hiring)", 0},
		{"match-all", "*", 0},
		{"match-all/from-4500", "*", 4500},
		{"phrase", `"grand jury"`, 0},
		{"prefix", "transduc*", 0},
	} {
		q, err := query.Parse("("+c.search+") AND lang:en", opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = len(search(b, s, q, c.from, 500))
			}
			b.ReportMetric(float64(n), "results")
			var df []string
			for _, w := range query.AppendTokens(nil, c.search) {
				if d, ok := s.DocFreq(text, w); ok {
					df = append(df, fmt.Sprintf("%s:%d", w, d))
				}
			}
			b.Logf("%s: %d results; document frequencies %v", q, n, df)
		})
	}
}

// BenchmarkAdd measures indexing one tweet into a full store of 100,000
// (which evicts the oldest).
func BenchmarkAdd(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a store of 100,000 tweets")
	}
	const capacity, extra = 100_000, 500_000
	s, err := New(Config{Capacity: capacity})
	if err != nil {
		b.Fatal(err)
	}
	benchAddFull(b, s, capacity, extra)
}

// benchAddFull fills s, of capacity tweets, from a generator, prepares
// extra more, and measures adding them one per op (each evicts the
// oldest).
func benchAddFull(b *testing.B, s *Memory, capacity, extra int) {
	b.Helper()
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for range capacity {
		if err := s.Add(g.Next()); err != nil {
			b.Fatal(err)
		}
	}
	next := make([]*tweet.Tweet, extra)
	for i := range next {
		next[i] = g.Next()
	}
	i := 0
	for b.Loop() {
		if i == extra {
			b.Fatal("benchmark ran past the prepared tweets")
		}
		if err := s.Add(next[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
