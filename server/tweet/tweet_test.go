package tweet_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/birdwatch")

// goldenDir holds this package's golden files.
func goldenDir() string {
	return filepath.Join(filepath.Dir(corpus.Path()), "tweet")
}

// checkGolden compares got with the named golden file, or rewrites it
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir(), name)
	if *update {
		if err := os.MkdirAll(goldenDir(), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n got %s\nwant %s", name, got, want)
	}
}

func loadCorpus(t *testing.T) map[int]*tweet.Tweet {
	t.Helper()
	tweets, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]*tweet.Tweet{}
	for _, tw := range tweets {
		m[int(tw.ID-corpus.Base)] = tw
	}
	return m
}

func kw(s string) transit.Keyword { return transit.Keyword(s) }

// keysOf returns the keyword keys of a decoded map, in order.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(*transit.Map)
	if !ok {
		t.Fatalf("%T is not a map", v)
	}
	var out []string
	for _, k := range m.Keys() {
		k, ok := k.(transit.Keyword)
		if !ok {
			t.Fatalf("key %v is not a keyword", k)
		}
		out = append(out, string(k))
	}
	return out
}

func get(t *testing.T, v any, key string) any {
	t.Helper()
	x, ok := v.(*transit.Map).Get(kw(key))
	if !ok {
		t.Fatalf("no key %s in %v", key, v)
	}
	return x
}

var strippedKeys = []string{"id_str", "id", "text", "created_at", "retweet_count", "favorite_count", "entities", "user"}
var userKeys = []string{"followers_count", "name", "profile_image_url", "screen_name"}

// roundTrip writes v as the wire does and reads it back.
func roundTrip(t *testing.T, v any) (wire []byte, back any) {
	t.Helper()
	wire, err := transit.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err = transit.Unmarshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	return wire, back
}

// TestStripShape checks the exact key sets of docs/birdwatch.md §5.2 on every corpus tweet.
func TestStripShape(t *testing.T) {
	for k, tw := range loadCorpus(t) {
		_, v := roundTrip(t, tw.Strip())
		want := strippedKeys
		if tw.RetweetedStatus != nil {
			want = append(slices.Clone(strippedKeys), "retweeted_status")
			rt := get(t, v, "retweeted_status")
			if got := keysOf(t, rt); !slices.Equal(got, strippedKeys) {
				t.Errorf("tweet %d: retweeted_status keys %v, want %v", k, got, strippedKeys)
			}
		}
		if got := keysOf(t, v); !slices.Equal(got, want) {
			t.Errorf("tweet %d: keys %v, want %v", k, got, want)
		}
		if got := keysOf(t, get(t, v, "user")); !slices.Equal(got, userKeys) {
			t.Errorf("tweet %d: user keys %v, want %v", k, got, userKeys)
		}
		if text, ok := get(t, v, "text").(string); !ok || text != tw.Text {
			t.Errorf("tweet %d: text %v", k, get(t, v, "text"))
		}
	}
}

func TestStripNulls(t *testing.T) {
	tw := loadCorpus(t)[19] // no user, retweet_count null, no favorite_count
	_, v := roundTrip(t, tw.Strip())
	for _, key := range []string{"retweet_count", "favorite_count"} {
		if x := get(t, v, key); x != nil {
			t.Errorf("%s = %v, want null", key, x)
		}
	}
	u := get(t, v, "user")
	for _, key := range userKeys {
		if x := get(t, u, key); x != nil {
			t.Errorf("user.%s = %v, want null", key, x)
		}
	}
	if !tw.HasNull() {
		t.Error("HasNull() = false")
	}
}

func TestMissing(t *testing.T) {
	wire, v := roundTrip(t, tweet.Missing())
	if got := keysOf(t, v); !slices.Equal(got, strippedKeys) {
		t.Errorf("keys %v, want %v", got, strippedKeys)
	}
	for _, key := range strippedKeys[:7] {
		if x := get(t, v, key); x != nil {
			t.Errorf("%s = %v, want null", key, x)
		}
	}
	for _, key := range userKeys {
		if x := get(t, get(t, v, "user"), key); x != nil {
			t.Errorf("user.%s = %v, want null", key, x)
		}
	}
	checkGolden(t, "missing.transit.json", wire)
}

// TestStripGolden pins the wire bytes of stripped tweets: a plain tweet,
// a retweet, one with nulls, one with a photo.
func TestStripGolden(t *testing.T) {
	c := loadCorpus(t)
	for _, k := range []int{1, 4, 19, 24} {
		wire, _ := roundTrip(t, c[k].Strip())
		checkGolden(t, fmt.Sprintf("strip-%02d.transit.json", k), wire)
	}
}

// TestFull checks :tweet/new's payload: the whole document as read, with
// keyword keys, unknown fields included, and ids beyond 2^53 exact.
func TestFull(t *testing.T) {
	tw := loadCorpus(t)[4]
	full, err := tw.Full()
	if err != nil {
		t.Fatal(err)
	}
	wire, v := roundTrip(t, full)
	keys := keysOf(t, v)
	for _, want := range []string{"source", "favorited", "in_reply_to_status_id", "retweeted_status", "timestamp_ms", "lang"} {
		if !slices.Contains(keys, want) {
			t.Errorf("full tweet lacks %s: %v", want, keys)
		}
	}
	if id := get(t, v, "id"); id != tw.ID {
		t.Errorf("id = %v (%T), want %d", id, id, tw.ID)
	}
	if !bytes.Contains(wire, []byte(`"~i546814306545344504"`)) {
		t.Errorf("id not written as a tagged integer: %s", wire)
	}
	rt := get(t, v, "retweeted_status")
	if got := get(t, get(t, rt, "user"), "screen_name"); got != "techweekly" {
		t.Errorf("retweeted_status.user.screen_name = %v", got)
	}
	checkGolden(t, "full-04.transit.json", wire)
}

// TestFullBuilt checks Full of a tweet built in Go: the struct, written
// with keyword keys, no retweeted_status key, media omitted when empty.
func TestFullBuilt(t *testing.T) {
	u := &tweet.User{ID: 1, IDStr: "1", Name: "Jane Doe", ScreenName: "janedoe", FollowersCount: 1532, ProfileImageURL: "/images/avatar-1.png", Lang: "en"}
	tw := &tweet.Tweet{
		CreatedAt: "Mon Dec 22 23:45:01 +0000 2014", ID: 546814306545344512, IDStr: "546814306545344512",
		Text: "Hello #clojure", User: u, Lang: "en", TimestampMs: "1419291901000",
		Entities: &tweet.Entities{Hashtags: []tweet.Hashtag{{Text: "clojure", Indices: tweet.Indices{6, 14}}}},
	}
	full, err := tw.Full()
	if err != nil {
		t.Fatal(err)
	}
	wire, v := roundTrip(t, full)
	want := []string{"created_at", "id", "id_str", "text", "user", "retweet_count", "favorite_count", "entities", "lang", "timestamp_ms"}
	if got := keysOf(t, v); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	ents := get(t, v, "entities")
	if got := keysOf(t, ents); !slices.Equal(got, []string{"hashtags", "symbols", "urls", "user_mentions"}) {
		t.Errorf("entity keys %v", got)
	}
	if syms := get(t, ents, "symbols"); syms == nil {
		t.Error("nil symbols written as null, want []")
	}
	checkGolden(t, "full-built.transit.json", wire)
	_, sv := roundTrip(t, tw.Strip())
	if got := keysOf(t, sv); !slices.Equal(got, strippedKeys) {
		t.Errorf("stripped keys %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{`{"delete":{"status":{"id":1}}}`, tweet.ErrNoText},
		{`{"text":null,"id":1}`, tweet.ErrNoText},
		{`{"limit":{"track":3}}`, tweet.ErrNoText},
		{`{"text":"x","id":"notanumber"}`, nil},
		{`{"text":"x","id_str":"12x"}`, nil},
		{`{"text":"x","entities":{"hashtags":"no"}}`, nil},
		{`{"text":`, nil},
		{`[]`, nil},
	}
	for _, tt := range tests {
		_, err := tweet.Parse([]byte(tt.in))
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("Parse(%s) error = %v, want %v", tt.in, err, tt.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "tweet: ") && !strings.HasPrefix(err.Error(), "retweeted_status") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
	tw, err := tweet.Parse([]byte(`  {"text":"x","id_str":"546814306545344512"}` + "\n"))
	if err != nil || tw.ID != 546814306545344512 {
		t.Errorf("id from id_str: %v, %v", tw, err)
	}
}

// TestMarshalJSONRoundTrip checks that the JSON a store persists (the
// document as read, or the modelled fields of a slim or built tweet) reads
// back into a tweet that strips the same.
func TestMarshalJSONRoundTrip(t *testing.T) {
	for k, tw := range loadCorpus(t) {
		for name, x := range map[string]*tweet.Tweet{"parsed": tw, "slim": tw.Slim()} {
			b, err := x.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := tweet.Parse(b)
			if err != nil {
				t.Fatalf("tweet %d %s: %v", k, name, err)
			}
			w1, _ := roundTrip(t, tw.Strip())
			w2, _ := roundTrip(t, back.Strip())
			if !bytes.Equal(w1, w2) {
				t.Errorf("tweet %d %s: stripped differs after JSON round trip\n%s\n%s", k, name, w1, w2)
			}
		}
	}
	if tw := loadCorpus(t)[1]; tw.Slim().Raw() != nil || tw.Raw() == nil {
		t.Error("Slim kept the raw JSON, or Parse did not keep it")
	}
}

func TestTime(t *testing.T) {
	tw := loadCorpus(t)[1]
	got, ok := tw.Time()
	want := time.Date(2014, 12, 22, 10, 1, 0, 0, time.UTC)
	if !ok || !got.Equal(want) {
		t.Errorf("Time() = %v, %v; want %v", got, ok, want)
	}
	noMs := &tweet.Tweet{CreatedAt: "Mon Dec 22 23:45:01 +0000 2014"}
	if got, ok := noMs.Time(); !ok || got.Unix() != 1419291901 {
		t.Errorf("Time() from created_at = %v, %v", got, ok)
	}
	if _, ok := (&tweet.Tweet{CreatedAt: "yesterday"}).Time(); ok {
		t.Error("Time() of a bad date reported ok")
	}
}
