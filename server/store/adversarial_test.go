package store

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

// The hostile history queries of issue 14, against a store of 100,000
// synthetic tweets (what `go run ./server -backfill 100000` holds).

const adversarialTweets = 100_000

// hundredKStore has the default limits but no timeout, so that a slow
// machine (or the race detector) cannot change which searches are
// refused.
var hundredKStore = sync.OnceValue(func() *Memory {
	s, err := New(Config{Capacity: adversarialTweets, SearchTimeout: -1})
	if err != nil {
		panic(err)
	}
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 2014, Start: time.Date(2014, 12, 1, 0, 0, 0, 0, time.UTC), Rate: 20})
	if err != nil {
		panic(err)
	}
	for range adversarialTweets {
		if err := s.Add(g.Next()); err != nil {
			panic(err)
		}
	}
	return s
})

// orOf joins n terms made by term with OR.
func orOf(n int, term func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = term(i)
	}
	return strings.Join(parts, " OR ")
}

// letterPair returns the i-th of the 676 patterns *x*y* over the letters.
func letterPair(i int) string {
	return fmt.Sprintf("*%c*%c*", 'a'+i/26%26, 'a'+i%26)
}

// vocabulary returns n distinct words of the synthetic generator's topics.
func vocabulary(n int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		before := len(out)
		for _, tp := range source.Topics() {
			for _, w := range tp.Words {
				if len(out) < n && !seen[w] && !strings.ContainsAny(w, ".-") {
					seen[w] = true
					out = append(out, w)
				}
			}
		}
		if len(out) == before {
			panic("vocabulary too small")
		}
	}
	return out
}

// adversarialSearch is one hostile search text (what the user types; the
// client sends "(text) AND lang:en") and whether the default limits refuse
// it at 100,000 tweets.
type adversarialSearch struct {
	name, text string
	refused    bool
}

func adversarialSearches() []adversarialSearch {
	star := func(int) string { return "*e*" }
	words := vocabulary(500)
	var nested strings.Builder
	for i := range query.MaxDepth - 1 {
		nested.WriteString(letterPair(i) + " OR (")
	}
	nested.WriteString("*e*" + strings.Repeat(")", query.MaxDepth-1))
	return []adversarialSearch{
		// The queries of issue 14: each "*e*" would merge 20,000 posting
		// lists, the fuzzy terms and the other patterns scan the whole
		// dictionary, each of them.
		{"star-e-10", orOf(10, star), true},
		{"star-e-300", orOf(300, star), true},
		{"star-e-1000", orOf(1000, star), true},
		{"wildcards-10", orOf(10, letterPair), true},
		{"wildcards-300", orOf(300, letterPair), true},
		{"fuzzy-500", orOf(500, func(i int) string { return words[i] + "~2" }), true},
		{"nested-31", nested.String(), true},
		{"regexps-100", orOf(100, func(i int) string { return "/.*" + letterPair(i)[1:4] + ".*/" }), true},
		{"regexp-huge", "/" + strings.Repeat("[a-z]*", 160) + "q/", true},
		{"ranges-250", orOf(250, func(i int) string { return fmt.Sprintf("text:[%c TO z%c]", 'a'+i%26, 'a'+i/26%26) }), true},
		{"unindexed-_all", "_all:zzzzqqq", true},
		// Expensive, but within the limits.
		{"phrases-300", orOf(300, func(i int) string { return `"` + words[i] + " " + words[i+1] + `"` }), false},
		{"leading-wildcard", "*script", false},
		{"fuzzy-1", "protset~", false},
		{"regexp-scan", "/.*script/", false},
		// A field that is not indexed: every English tweet is checked, and
		// at 100,000 tweets the text of retweets is too much to analyse.
		{"unindexed-rare", "retweeted_status.text:zzzq", true},
		{"unindexed", "retweeted_status.text:java", false},
	}
}

// BenchmarkAdversarial measures the hostile searches at 100,000 tweets:
// each either answers or is refused (ErrOverBudget). It reports the units
// of work a search spent (Config.MaxWork) and what one unit took, the
// measure the weights of the units were chosen by.
//
//	go test -run '^$' -bench Adversarial -benchmem ./server/store/
func BenchmarkAdversarial(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a store of 100,000 tweets")
	}
	s := hundredKStore()
	for _, a := range adversarialSearches() {
		q, err := query.Parse("("+a.text+") AND lang:en", query.Options{DefaultField: "text", DefaultOperator: query.And})
		if err != nil {
			b.Fatalf("%s: %v", a.name, err)
		}
		b.Run(a.name, func(b *testing.B) {
			var hits []*tweet.Tweet
			var bud *budget
			for b.Loop() {
				hits, bud = s.search(q, 0, 500, s.limits)
			}
			b.ReportMetric(float64(len(hits)), "results")
			b.ReportMetric(float64(bud.work), "units/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bud.work), "ns/unit")
			if bud.err != nil {
				b.Logf("%s: %v", a.name, bud.err)
			}
		})
	}
}
