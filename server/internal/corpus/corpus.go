// Package corpus is test support shared by the BirdWatch domain packages:
// the fixed tweet corpus testdata/birdwatch/corpus.jsonl and the table of
// query_string queries with the tweets each must find. The query, store
// and percolator tests all run the same table, so the three evaluations of
// a query (query.Node.Match, the store's index, the percolator's compiled
// matchers) are held to one answer.
package corpus

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/tweet"
)

// Base is added to a corpus number to give the tweet's id: tweet 7 has id
// Base+7. The corpus holds tweets 1 to 24; 7 is Spanish and 17 Japanese,
// the rest English; 4 is a retweet of 2; 19 has no user and a null
// retweet_count; 24 has a photo. The file also holds a delete notice and a
// limit notice, which are not statuses.
const Base = 546814306545344500

// Path returns the corpus file's path, found from this source file.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "birdwatch", "corpus.jsonl")
}

// ClientOptions are the query_string options the BirdWatch client sends
// (default field text, default operator AND).
var ClientOptions = query.Options{DefaultField: "text", DefaultOperator: query.And}

// MustLoad is Load for a test: an error fails it.
func MustLoad(tb testing.TB) []*tweet.Tweet {
	tb.Helper()
	tweets, err := Load()
	if err != nil {
		tb.Fatal(err)
	}
	return tweets
}

// MustParse parses a query for a test: an error fails it.
func MustParse(tb testing.TB, text string, opts query.Options) *query.Query {
	tb.Helper()
	q, err := query.Parse(text, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// Load parses the corpus, skipping the lines that are not statuses.
func Load() ([]*tweet.Tweet, error) {
	f, err := os.Open(Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*tweet.Tweet
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t, err := tweet.Parse(sc.Bytes())
		if errors.Is(err, tweet.ErrNoText) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

// Numbers returns the corpus numbers of ids.
func Numbers(ids []int64) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id - Base)
	}
	return out
}

// Case is one query and the corpus numbers it finds, newest first.
type Case struct {
	Name  string
	Query string
	// Raw queries are used as they are; others are wrapped as the client
	// wraps a search: "(" + Query + ") AND lang:en".
	Raw bool
	// Or selects default operator OR; the client sends AND.
	Or   bool
	Want []int
	// Err is set for queries that must be rejected.
	Err bool
}

// Options returns the query_string options of the case: default field
// text, as the client sends.
func (c Case) Options() query.Options {
	op := query.And
	if c.Or {
		op = query.Or
	}
	return query.Options{DefaultField: "text", DefaultOperator: op}
}

// Text returns the query text, wrapped unless the case is raw.
func (c Case) Text() string {
	if c.Raw {
		return c.Query
	}
	return "(" + c.Query + ") AND lang:en"
}

// english is every English tweet, newest first.
var english = []int{24, 23, 22, 21, 20, 19, 18, 16, 15, 14, 13, 12, 11, 10, 9, 8, 6, 5, 4, 3, 2, 1}

// englishExcept returns the English tweets not in drop, newest first.
func englishExcept(drop ...int) []int {
	out := []int{}
outer:
	for _, k := range english {
		for _, d := range drop {
			if k == d {
				continue outer
			}
		}
		out = append(out, k)
	}
	return out
}

// Cases returns the query table. Each expectation was worked out by hand
// from the corpus and Elasticsearch 1.x's semantics (see package query).
func Cases() []Case {
	return []Case{
		{Name: "term", Query: "clojure", Want: []int{19, 16, 8, 3, 1}},
		{Name: "term raw includes other languages", Query: "clojure", Raw: true, Want: []int{19, 17, 16, 8, 7, 3, 1}},
		{Name: "case folding", Query: "CLOJURE", Want: []int{19, 16, 8, 3, 1}},
		{Name: "match all", Query: "*", Want: english},
		{Name: "star field all", Query: "*:*", Want: english},
		{Name: "word not prefix", Query: "java", Want: []int{22, 12, 8, 4, 2}},
		{Name: "ui example", Query: "java (job OR jobs OR hiring)", Want: []int{12, 8, 4, 2}},
		{Name: "two terms and", Query: "java job", Want: []int{4, 2}},
		{Name: "two terms or", Query: "java OR go", Want: []int{22, 20, 12, 8, 6, 4, 2}},
		{Name: "double ampersand and pipes", Query: "java && (job || golang)", Want: []int{4, 2}},
		{Name: "exclude", Query: "clojure -clojurescript", Want: []int{19, 16, 8, 1}},
		{Name: "pure negative group", Query: "-clojure", Want: englishExcept(1, 3, 8, 16, 19)},
		{Name: "NOT", Query: "NOT java", Want: englishExcept(2, 4, 8, 12, 22)},
		{Name: "bang", Query: "!java", Want: englishExcept(2, 4, 8, 12, 22)},
		{Name: "and not", Query: "clojure AND NOT clojurescript", Want: []int{19, 16, 8, 1}},
		{Name: "phrase", Query: `"quick brown fox"`, Want: []int{14, 13}},
		{Name: "phrase order", Query: `"brown quick"`, Want: []int{}},
		{Name: "phrase swap needs slop 2", Query: `"brown quick"~2`, Want: []int{14, 13}},
		{Name: "phrase swap slop 1", Query: `"brown quick"~1`, Want: []int{}},
		{Name: "phrase adjacent", Query: `"fox jumps"`, Want: []int{13}},
		{Name: "sloppy phrase", Query: `"jumps fox"~5`, Want: []int{14, 13}},
		{Name: "sloppy phrase tighter", Query: `"jumps fox"~3`, Want: []int{13}},
		{Name: "phrase of one word", Query: `"Clojure"`, Want: []int{19, 16, 8, 3, 1}},
		{Name: "phrase across hyphen", Query: `"wi fi"`, Want: []int{11}},
		{Name: "screen name", Query: "user.screen_name:janedoe", Want: []int{24, 11, 4, 1}},
		{Name: "screen name case", Query: "user.screen_name:JaneDoe", Want: []int{24, 11, 4, 1}},
		{Name: "retweeted screen name", Query: "retweeted_status.user.screen_name:techweekly", Want: []int{4}},
		{Name: "retweeted text", Query: "retweeted_status.text:java", Want: []int{4}},
		{Name: "hashtag field", Query: "entities.hashtags.text:jobs", Want: []int{20, 4, 2}},
		{Name: "hashtag in text", Query: "#jobs", Want: []int{20, 12, 8, 4, 2}},
		{Name: "mention in text", Query: "@janedoe", Want: []int{3}},
		{Name: "mention field", Query: "entities.user_mentions.screen_name:golang_fan", Want: []int{20}},
		{Name: "underscore joins", Query: "golang_fan", Want: []int{20}},
		{Name: "user name phrase", Query: `user.name:"jane doe"`, Want: []int{24, 11, 4, 1}},
		{Name: "field group", Query: "text:(scala OR haskell)", Want: []int{8, 5}},
		{Name: "prefix", Query: "clo*", Want: []int{23, 19, 16, 8, 3, 1}},
		{Name: "leading wildcard", Query: "*script", Want: []int{23, 22, 3}},
		{Name: "question mark", Query: "j?b", Want: []int{4, 2}},
		{Name: "question mark end", Query: "jav?", Want: []int{22, 12, 8, 4, 2}},
		{Name: "fuzzy auto", Query: "clojrue~", Want: []int{19, 16, 8, 3, 1}},
		{Name: "fuzzy one", Query: "jobz~1", Want: []int{20, 12, 8, 4, 2}},
		{Name: "fuzzy zero", Query: "java~0 clojure", Want: []int{8}},
		{Name: "regexp", Query: "/clo.*/", Want: []int{23, 19, 16, 8, 3, 1}},
		{Name: "regexp class", Query: "/ja[vw]a/", Want: []int{22, 12, 8, 4, 2}},
		{Name: "range open", Query: "retweet_count:[10 TO *]", Want: []int{16, 10, 9, 4, 2}},
		{Name: "range exclusive", Query: "retweet_count:{12 TO 150}", Want: []int{16, 10}},
		{Name: "greater than", Query: "retweet_count:>100", Want: []int{9}},
		{Name: "null is no value", Query: "retweet_count:0", Want: englishExcept(1, 2, 4, 9, 10, 16, 19)},
		{Name: "followers", Query: "user.followers_count:>=100000", Want: []int{21, 16, 10, 9, 2}},
		{Name: "boolean", Query: "user.verified:true", Want: []int{21, 16, 10, 9, 2}},
		{Name: "term range", Query: "text:[reagent TO reducers]", Want: []int{23, 16}},
		{Name: "exists object", Query: "_exists_:retweeted_status", Want: []int{4}},
		{Name: "missing object", Query: "_missing_:user", Want: []int{19}},
		{Name: "exists media", Query: "_exists_:entities.media", Want: []int{24}},
		{Name: "field exists star", Query: "entities.media.type:*", Want: []int{24}},
		{Name: "language", Query: "lang:es", Raw: true, Want: []int{7}},
		{Name: "hyphenated word", Query: "wi-fi", Want: []int{11}},
		{Name: "apostrophe", Query: "can't", Want: []int{11}},
		{Name: "apostrophe kept", Query: "cant", Want: []int{}},
		{Name: "version number", Query: "1.7", Want: []int{1}},
		{Name: "t.co", Query: "t.co", Want: []int{24, 1}},
		{Name: "no accent folding", Query: "naive", Want: []int{}},
		{Name: "accents", Query: "café naïve", Want: []int{18}},
		{Name: "ideographs", Query: "東京", Raw: true, Want: []int{17}},
		{Name: "hiragana phrase", Query: `"会いましょう"`, Raw: true, Want: []int{17}},
		{Name: "uppercase text", Query: "UPPERCASE percolator", Want: []int{21}},
		{Name: "or with not", Query: "text:(java OR clojure) AND NOT lang:es", Raw: true, Want: []int{22, 19, 17, 16, 12, 8, 4, 3, 2, 1}},
		{Name: "lucene and-or quirk", Query: "java AND jobs OR hiring", Want: []int{22, 12, 8, 4, 2}},
		{Name: "lucene or-and quirk", Query: "java OR jobs hiring", Want: []int{20, 12, 4, 2}},
		{Name: "default or", Query: "java jobs", Raw: true, Or: true, Want: []int{22, 20, 12, 8, 4, 2}},
		{Name: "plus minus with or", Query: "+java -jobs", Raw: true, Or: true, Want: []int{22}},
		{Name: "unknown field", Query: "foo:bar", Want: []int{}},
		{Name: "analysed away", Query: "...", Want: english},
		{Name: "boost ignored", Query: "java^2 job^0.5", Want: []int{4, 2}},
		{Name: "id", Query: "id:546814306545344505", Want: []int{5}},
		{Name: "id range", Query: "id:[546814306545344520 TO *]", Want: []int{24, 23, 22, 21, 20}},
		{Name: "id_str", Query: "id_str:546814306545344503", Want: []int{3}},
		{Name: "field wildcard", Query: `user.\*:janedoe`, Want: []int{24, 11, 4, 1}},
		{Name: "all fields", Query: "_all:berlin", Want: []int{20, 12, 8}},
		{Name: "not a number", Query: "retweet_count:abc", Err: true},
		{Name: "unbalanced", Query: "(java", Raw: true, Err: true},
		{Name: "dangling and", Query: "java AND", Raw: true, Err: true},
		{Name: "unterminated phrase", Query: `"java`, Raw: true, Err: true},
		{Name: "unterminated range", Query: "retweet_count:[1 TO", Raw: true, Err: true},
		{Name: "bad regexp", Query: "/[/", Err: true},
		{Name: "boost without number", Query: "java^", Err: true},
		{Name: "empty group", Query: "()", Raw: true, Err: true},
		{Name: "empty", Query: "", Raw: true, Err: true},
	}
}
