package edn

import (
	"os"
	"sync"
	"testing"

	"github.com/sente-go/sente/transit"
)

// The tweet benchmarks compare EDN with Transit on the BirdWatch document
// of transit's own benchmarks (docs/birdwatch.md §12): a retweet with its
// retweeted_status, keyword keys, as a :tweet/new push carries it. Both
// sides work on the generic value read from ../testdata/tweet.transit.json
// and on its text in each codec; the struct encoders write the same
// document held in Go structs (EDN goes through transit's value model for
// them). Run them with
//
//	go test -run '^$' -bench Tweet -benchmem ./transit/edn/

// Tweet, User, Entities, Hashtag, URLEntity, Mention and Media are the
// structs of transit's benchmark, with the fields BirdWatch stores.
type Tweet struct {
	CreatedAt       string   `transit:"created_at"`
	ID              int64    `transit:"id"`
	IDStr           string   `transit:"id_str"`
	Text            string   `transit:"text"`
	User            User     `transit:"user"`
	RetweetedStatus *Tweet   `transit:"retweeted_status,omitempty"`
	RetweetCount    int      `transit:"retweet_count"`
	FavoriteCount   int      `transit:"favorite_count"`
	Entities        Entities `transit:"entities"`
	Lang            string   `transit:"lang"`
	TimestampMs     string   `transit:"timestamp_ms"`
}

type User struct {
	ID              int64  `transit:"id"`
	IDStr           string `transit:"id_str"`
	Name            string `transit:"name"`
	ScreenName      string `transit:"screen_name"`
	Description     string `transit:"description"`
	FollowersCount  int    `transit:"followers_count"`
	ProfileImageURL string `transit:"profile_image_url"`
	Lang            string `transit:"lang"`
	Verified        bool   `transit:"verified"`
}

type Entities struct {
	Hashtags     []Hashtag   `transit:"hashtags"`
	Symbols      []Hashtag   `transit:"symbols"`
	URLs         []URLEntity `transit:"urls"`
	UserMentions []Mention   `transit:"user_mentions"`
	Media        []Media     `transit:"media,omitempty"`
}

type Hashtag struct {
	Text    string `transit:"text"`
	Indices []int  `transit:"indices"`
}

type URLEntity struct {
	URL         string `transit:"url"`
	ExpandedURL string `transit:"expanded_url"`
	DisplayURL  string `transit:"display_url"`
	Indices     []int  `transit:"indices"`
}

type Mention struct {
	ScreenName string `transit:"screen_name"`
	Name       string `transit:"name"`
	ID         int64  `transit:"id"`
	IDStr      string `transit:"id_str"`
	Indices    []int  `transit:"indices"`
}

type Media struct {
	ID            int64  `transit:"id"`
	IDStr         string `transit:"id_str"`
	Indices       []int  `transit:"indices"`
	MediaURL      string `transit:"media_url"`
	MediaURLHTTPS string `transit:"media_url_https"`
	URL           string `transit:"url"`
	DisplayURL    string `transit:"display_url"`
	ExpandedURL   string `transit:"expanded_url"`
	Type          string `transit:"type"`
}

// tweetFixture holds the benchmark inputs, built once.
type tweetFixture struct {
	transit []byte       // the Transit JSON document
	edn     []byte       // Marshal of the same value
	value   *transit.Map // the generic value
	tweet   Tweet        // the document as structs
}

var loadTweetFixture = sync.OnceValues(func() (*tweetFixture, error) {
	tj, err := os.ReadFile("../testdata/tweet.transit.json")
	if err != nil {
		return nil, err
	}
	f := &tweetFixture{transit: tj}
	v, err := transit.Unmarshal(tj)
	if err != nil {
		return nil, err
	}
	f.value = v.(*transit.Map)
	if f.edn, err = Marshal(f.value); err != nil {
		return nil, err
	}
	if err := transit.UnmarshalInto(tj, &f.tweet); err != nil {
		return nil, err
	}
	return f, nil
})

func tweetFixtureFor(tb testing.TB) *tweetFixture {
	tb.Helper()
	f, err := loadTweetFixture()
	if err != nil {
		tb.Fatalf("tweet fixture: %v", err)
	}
	return f
}

var (
	sinkAny   any
	sinkBytes []byte
)

// TestTweetFixture checks the benchmark document: the EDN text reads back
// as the Transit value, and the structs write the same value in both
// codecs.
func TestTweetFixture(t *testing.T) {
	f := tweetFixtureFor(t)
	v, err := Unmarshal(f.edn)
	if err != nil || !transit.Equal(v, f.value) {
		t.Fatalf("EDN of the tweet reads back differently: %v", err)
	}
	b, err := Marshal(&f.tweet)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Unmarshal(b); err != nil || !transit.Equal(v, f.value) {
		t.Errorf("Marshal(&tweet) reads back differently: %v\n%s", err, b)
	}
	t.Logf("Transit JSON %d bytes, EDN %d bytes", len(f.transit), len(f.edn))
}

func BenchmarkTweetDecode(b *testing.B) {
	f := tweetFixtureFor(b)
	b.Run("edn-generic", func(b *testing.B) {
		b.SetBytes(int64(len(f.edn)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := Unmarshal(f.edn)
			if err != nil {
				b.Fatal(err)
			}
			sinkAny = v
		}
	})
	b.Run("transit-generic", func(b *testing.B) {
		b.SetBytes(int64(len(f.transit)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := transit.Unmarshal(f.transit)
			if err != nil {
				b.Fatal(err)
			}
			sinkAny = v
		}
	})
	b.Run("edn-struct", func(b *testing.B) {
		b.SetBytes(int64(len(f.edn)))
		b.ReportAllocs()
		for b.Loop() {
			var t Tweet
			if err := UnmarshalInto(f.edn, &t); err != nil {
				b.Fatal(err)
			}
			sinkAny = &t
		}
	})
	b.Run("transit-struct", func(b *testing.B) {
		b.SetBytes(int64(len(f.transit)))
		b.ReportAllocs()
		for b.Loop() {
			var t Tweet
			if err := transit.UnmarshalInto(f.transit, &t); err != nil {
				b.Fatal(err)
			}
			sinkAny = &t
		}
	})
}

func BenchmarkTweetEncode(b *testing.B) {
	f := tweetFixtureFor(b)
	run := func(name string, size int, marshal func() ([]byte, error)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				out, err := marshal()
				if err != nil {
					b.Fatal(err)
				}
				sinkBytes = out
			}
		})
	}
	run("edn-generic", len(f.edn), func() ([]byte, error) { return Marshal(f.value) })
	run("transit-generic", len(f.transit), func() ([]byte, error) { return transit.Marshal(f.value) })
	run("edn-struct", len(f.edn), func() ([]byte, error) { return Marshal(&f.tweet) })
	run("transit-struct", len(f.transit), func() ([]byte, error) { return transit.Marshal(&f.tweet) })
}
