package query_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/tweet"
)

func loadCorpus(t testing.TB) []*tweet.Tweet {
	t.Helper()
	tweets := corpus.MustLoad(t)
	if len(tweets) != 24 {
		t.Fatalf("corpus has %d tweets, want 24", len(tweets))
	}
	return tweets
}

// match returns the corpus numbers of the tweets q matches, newest first.
func match(q *query.Query, tweets []*tweet.Tweet) []int {
	var ids []int64
	d := query.NewDoc(nil)
	for _, t := range tweets {
		d.Reset(t)
		if q.Match(d) {
			ids = append(ids, t.ID)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return corpus.Numbers(ids)
}

// TestCases runs the shared query table against query.Node.Match, the
// reference semantics.
func TestCases(t *testing.T) {
	tweets := loadCorpus(t)
	for _, c := range corpus.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			q, err := query.Parse(c.Text(), c.Options())
			if c.Err {
				var qe *query.Error
				if err == nil || !errors.Is(err, query.ErrInvalid) || !errors.As(err, &qe) {
					t.Fatalf("Parse(%q) = %v, %v; want a *query.Error", c.Text(), q, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.Text(), err)
			}
			if got := match(q, tweets); !slices.Equal(got, c.Want) {
				t.Errorf("query %q (%s)\n got %v\nwant %v", c.Text(), q, got, c.Want)
			}
		})
	}
}

// TestCanonicalRoundTrip checks that String parses back (default operator
// OR, as documented) to the same query.
func TestCanonicalRoundTrip(t *testing.T) {
	tweets := loadCorpus(t)
	for _, c := range corpus.Cases() {
		if c.Err {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			q, err := query.Parse(c.Text(), c.Options())
			if err != nil {
				t.Fatal(err)
			}
			q2, err := query.Parse(q.String(), query.Options{})
			if err != nil {
				t.Fatalf("Parse(%q) of String(): %v", q.String(), err)
			}
			if q2.String() != q.String() {
				t.Errorf("String not stable:\n first %s\nsecond %s", q, q2)
			}
			if got := match(q2, tweets); !slices.Equal(got, c.Want) {
				t.Errorf("reparsed %q matches %v, want %v", q.String(), got, c.Want)
			}
		})
	}
}
