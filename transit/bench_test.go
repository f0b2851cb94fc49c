package transit

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// The tweet benchmarks compare this codec with encoding/json on one
// realistic BirdWatch document (docs/birdwatch.md §12): a retweet as
// Twitter's v1.1 API delivers it, with its complete retweeted_status. The
// plain-JSON side works on testdata/tweet.json (compacted, so that neither
// side parses indentation), the Transit side on Marshal of the same
// document decoded into Tweet: the same content, with keyword keys and the
// write cache. Run them with
//
//	go test -run '^$' -bench Tweet -benchmem ./transit/

// Tweet is a Twitter v1.1 status with the fields BirdWatch stores and
// reads, in the order Twitter writes them.
type Tweet struct {
	CreatedAt       string   `json:"created_at" transit:"created_at"`
	ID              int64    `json:"id" transit:"id"`
	IDStr           string   `json:"id_str" transit:"id_str"`
	Text            string   `json:"text" transit:"text"`
	User            User     `json:"user" transit:"user"`
	RetweetedStatus *Tweet   `json:"retweeted_status,omitempty" transit:"retweeted_status,omitempty"`
	RetweetCount    int      `json:"retweet_count" transit:"retweet_count"`
	FavoriteCount   int      `json:"favorite_count" transit:"favorite_count"`
	Entities        Entities `json:"entities" transit:"entities"`
	Lang            string   `json:"lang" transit:"lang"`
	TimestampMs     string   `json:"timestamp_ms" transit:"timestamp_ms"`
}

// User is a tweet's author.
type User struct {
	ID              int64  `json:"id" transit:"id"`
	IDStr           string `json:"id_str" transit:"id_str"`
	Name            string `json:"name" transit:"name"`
	ScreenName      string `json:"screen_name" transit:"screen_name"`
	Description     string `json:"description" transit:"description"`
	FollowersCount  int    `json:"followers_count" transit:"followers_count"`
	ProfileImageURL string `json:"profile_image_url" transit:"profile_image_url"`
	Lang            string `json:"lang" transit:"lang"`
	Verified        bool   `json:"verified" transit:"verified"`
}

// Entities lists what a tweet's text links to. Twitter omits media when
// there is none (and BirdWatch's client needs it omitted).
type Entities struct {
	Hashtags     []Hashtag   `json:"hashtags" transit:"hashtags"`
	Symbols      []Hashtag   `json:"symbols" transit:"symbols"` // same shape: text, indices
	URLs         []URLEntity `json:"urls" transit:"urls"`
	UserMentions []Mention   `json:"user_mentions" transit:"user_mentions"`
	Media        []Media     `json:"media,omitempty" transit:"media,omitempty"`
}

// Hashtag is a #tag (or a $symbol) in the text.
type Hashtag struct {
	Text    string `json:"text" transit:"text"`
	Indices []int  `json:"indices" transit:"indices"`
}

// URLEntity is a t.co link in the text.
type URLEntity struct {
	URL         string `json:"url" transit:"url"`
	ExpandedURL string `json:"expanded_url" transit:"expanded_url"`
	DisplayURL  string `json:"display_url" transit:"display_url"`
	Indices     []int  `json:"indices" transit:"indices"`
}

// Mention is an @name in the text.
type Mention struct {
	ScreenName string `json:"screen_name" transit:"screen_name"`
	Name       string `json:"name" transit:"name"`
	ID         int64  `json:"id" transit:"id"`
	IDStr      string `json:"id_str" transit:"id_str"`
	Indices    []int  `json:"indices" transit:"indices"`
}

// Media is an attached photo.
type Media struct {
	ID            int64  `json:"id" transit:"id"`
	IDStr         string `json:"id_str" transit:"id_str"`
	Indices       []int  `json:"indices" transit:"indices"`
	MediaURL      string `json:"media_url" transit:"media_url"`
	MediaURLHTTPS string `json:"media_url_https" transit:"media_url_https"`
	URL           string `json:"url" transit:"url"`
	DisplayURL    string `json:"display_url" transit:"display_url"`
	ExpandedURL   string `json:"expanded_url" transit:"expanded_url"`
	Type          string `json:"type" transit:"type"`
}

// tweetFixture holds the benchmark inputs, built once.
type tweetFixture struct {
	json       []byte         // testdata/tweet.json, compacted
	transit    []byte         // Marshal(tweet)
	tweet      Tweet          // the document as a struct
	jsonValue  map[string]any // json.Unmarshal of json into any
	transitMap *Map           // Unmarshal of transit
}

var loadTweetFixture = sync.OnceValues(func() (*tweetFixture, error) {
	raw, err := os.ReadFile("testdata/tweet.json")
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	f := &tweetFixture{json: compact.Bytes()}
	dec := json.NewDecoder(bytes.NewReader(f.json))
	dec.DisallowUnknownFields() // the structs cover every field of the file
	if err := dec.Decode(&f.tweet); err != nil {
		return nil, err
	}
	if f.transit, err = Marshal(f.tweet); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(f.json, &f.jsonValue); err != nil {
		return nil, err
	}
	v, err := Unmarshal(f.transit)
	if err != nil {
		return nil, err
	}
	f.transitMap = v.(*Map)
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

// sinks keep benchmark results alive.
var (
	tweetSinkAny   any
	tweetSinkBytes []byte
)

func BenchmarkTweetDecode(b *testing.B) {
	f := tweetFixtureFor(b)
	b.Run("transit-generic", func(b *testing.B) {
		b.SetBytes(int64(len(f.transit)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := Unmarshal(f.transit)
			if err != nil {
				b.Fatal(err)
			}
			tweetSinkAny = v
		}
	})
	b.Run("json-generic", func(b *testing.B) {
		b.SetBytes(int64(len(f.json)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(f.json, &v); err != nil {
				b.Fatal(err)
			}
			tweetSinkAny = v
		}
	})
	b.Run("transit-struct", func(b *testing.B) {
		b.SetBytes(int64(len(f.transit)))
		b.ReportAllocs()
		for b.Loop() {
			var t Tweet
			if err := UnmarshalInto(f.transit, &t); err != nil {
				b.Fatal(err)
			}
			tweetSinkAny = &t
		}
	})
	b.Run("json-struct", func(b *testing.B) {
		b.SetBytes(int64(len(f.json)))
		b.ReportAllocs()
		for b.Loop() {
			var t Tweet
			if err := json.Unmarshal(f.json, &t); err != nil {
				b.Fatal(err)
			}
			tweetSinkAny = &t
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
				tweetSinkBytes = out
			}
		})
	}
	jsonStruct, err := json.Marshal(&f.tweet)
	if err != nil {
		b.Fatal(err)
	}
	jsonGeneric, err := json.Marshal(f.jsonValue)
	if err != nil {
		b.Fatal(err)
	}
	// Pointers, as a caller with a *Tweet in hand would pass them.
	run("transit-struct", len(f.transit), func() ([]byte, error) { return Marshal(&f.tweet) })
	run("json-struct", len(jsonStruct), func() ([]byte, error) { return json.Marshal(&f.tweet) })
	run("transit-generic", len(f.transit), func() ([]byte, error) { return Marshal(f.transitMap) })
	run("json-generic", len(jsonGeneric), func() ([]byte, error) { return json.Marshal(f.jsonValue) })
}

// TestTweetFixtureRoundTrip checks the benchmark document: its entities
// point at the text they name, struct → Transit → struct is the identity,
// the generic value writes back byte for byte, and the Transit text uses
// keyword keys written once each, later occurrences (those of
// retweeted_status among them) as cache codes.
func TestTweetFixtureRoundTrip(t *testing.T) {
	f := tweetFixtureFor(t)
	tw := f.tweet
	if tw.RetweetedStatus == nil || tw.Entities.Media == nil || tw.RetweetedStatus.Entities.Media == nil {
		t.Fatal("the fixture should be a retweet of a tweet with media, both with entities.media")
	}
	checkTweetEntities(t, "tweet", &tw)
	checkTweetEntities(t, "retweeted_status", tw.RetweetedStatus)

	var back Tweet
	if err := UnmarshalInto(f.transit, &back); err != nil {
		t.Fatalf("UnmarshalInto: %v", err)
	}
	if !reflect.DeepEqual(back, tw) {
		t.Errorf("struct → Transit → struct differs:\n got %+v\nwant %+v", back, tw)
	}
	again, err := Marshal(f.transitMap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, f.transit) {
		t.Errorf("generic value does not write back byte for byte:\n got %s\nwant %s", again, f.transit)
	}
	if ptr, err := Marshal(&tw); err != nil || !bytes.Equal(ptr, f.transit) {
		t.Errorf("Marshal(&tweet) = %s, %v; want the bytes of Marshal(tweet)", ptr, err)
	}

	// The wire form is pinned (transit-js reads these bytes and writes
	// them back unchanged).
	golden, err := os.ReadFile("testdata/tweet.transit.json")
	if err != nil {
		t.Fatal(err)
	}
	if golden = bytes.TrimSuffix(golden, []byte("\n")); !bytes.Equal(f.transit, golden) {
		t.Errorf("Marshal(tweet) differs from testdata/tweet.transit.json:\n got %s\nwant %s", f.transit, golden)
	}
	var fromGolden Tweet
	if err := UnmarshalInto(golden, &fromGolden); err != nil || !reflect.DeepEqual(fromGolden, tw) {
		t.Errorf("UnmarshalInto(golden) = %+v, %v; want %+v", fromGolden, err, tw)
	}

	s := string(f.transit)
	if !strings.HasPrefix(s, `["^ ","~:created_at",`) || !strings.Contains(s, `"~:id_str"`) {
		t.Errorf("Transit text does not start as a map with keyword keys: %s", tweetClip(f.transit))
	}
	// A 64-bit id beyond 2^53 is a tagged string (docs/birdwatch.md §2.3).
	if !strings.Contains(s, `"~:id","~i546814306545344512"`) {
		t.Errorf("tweet id not written as ~i: %s", tweetClip(f.transit))
	}
	// Every keyword key is written out once; each later use is a cache code.
	for _, kw := range regexp.MustCompile(`"~:[a-z_]+"`).FindAllString(s, -1) {
		if n := strings.Count(s, kw); n != 1 {
			t.Errorf("%s written %d times, want once (then cached)", kw, n)
		}
	}
	rs := strings.Index(s, `"~:retweeted_status"`)
	if rs < 0 {
		t.Fatal("no ~:retweeted_status key")
	}
	nested := s[rs+len(`"~:retweeted_status"`):]
	// created_at, id, id_str, text and user were already written: the
	// nested tweet starts with their codes, ^0 to ^4.
	if !strings.HasPrefix(nested, `,["^ ","^0","Sun Dec 21 21:12:53 +0000 2014","^1","~i546775337779204513","^2","546775337779204513","^3",`) {
		t.Errorf("retweeted_status keys are not cache codes: %s", tweetClip([]byte(nested)))
	}
	if codes := regexp.MustCompile(`"\^[0-9:;<=>?@A-Z\[]{1,2}"`).FindAllString(nested, -1); len(codes) < 40 {
		t.Errorf("only %d cache codes after ~:retweeted_status, want at least 40", len(codes))
	}
	t.Logf("plain JSON %d bytes, Transit JSON %d bytes", len(f.json), len(f.transit))
}

// checkTweetEntities checks that every entity's indices (in code points) cover
// the text it names, as Twitter's do and BirdWatch's client relies on.
func checkTweetEntities(t *testing.T, what string, tw *Tweet) {
	t.Helper()
	if n := utf8.RuneCountInString(tw.Text); n > 140 {
		t.Errorf("%s: text has %d characters", what, n)
	}
	if len(tw.IDStr) != 18 || tw.User.IDStr == "" {
		t.Errorf("%s: id_str %q, user id_str %q", what, tw.IDStr, tw.User.IDStr)
	}
	runes := []rune(tw.Text)
	at := func(ix []int, want string) {
		t.Helper()
		if len(ix) != 2 || ix[0] < 0 || ix[1] > len(runes) || ix[0] > ix[1] || string(runes[ix[0]:ix[1]]) != want {
			t.Errorf("%s: indices %v do not cover %q in %q", what, ix, want, tw.Text)
		}
	}
	e := &tw.Entities
	for _, h := range e.Hashtags {
		at(h.Indices, "#"+h.Text)
	}
	for _, u := range e.URLs {
		at(u.Indices, u.URL)
	}
	for _, m := range e.UserMentions {
		at(m.Indices, "@"+m.ScreenName)
	}
	for _, m := range e.Media {
		at(m.Indices, m.URL)
	}
}

// tweetClip shortens b for an error message.
func tweetClip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
