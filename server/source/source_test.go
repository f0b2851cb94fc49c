package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/tweet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tweetSource is what the hub needs from a source; every implementation
// runs the conformance suite below.
type tweetSource interface {
	Run(ctx context.Context, emit func(*tweet.Tweet)) error
}

var (
	_ tweetSource = (*Synthetic)(nil)
	_ tweetSource = (*Replay)(nil)
)

var start2014 = time.Date(2014, 12, 22, 23, 45, 0, 0, time.UTC)

func TestConformance(t *testing.T) {
	sources := map[string]func(t *testing.T) tweetSource{
		"synthetic": func(t *testing.T) tweetSource {
			s, err := NewSynthetic(SyntheticConfig{GeneratorConfig: GeneratorConfig{Seed: 1, Rate: 2000, Users: 300}, Backfill: 30})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"replay": func(t *testing.T) tweetSource {
			r, err := NewReplay(ReplayConfig{Path: corpus.Path(), Speed: 1e6})
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
	}
	for name, newSource := range sources {
		t.Run(name, func(t *testing.T) {
			t.Run("CompleteTweets", func(t *testing.T) {
				s := newSource(t)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				var got []*tweet.Tweet
				err := s.Run(ctx, func(tw *tweet.Tweet) {
					got = append(got, tw)
					if len(got) == 24 {
						cancel()
					}
				})
				if err != nil {
					t.Fatalf("Run = %v", err)
				}
				if len(got) < 24 {
					t.Fatalf("emitted %d tweets, want at least 24", len(got))
				}
				for _, tw := range got {
					if tw.ID == 0 || tw.Text == "" || tw.IDStr != strconv.FormatInt(tw.ID, 10) {
						t.Errorf("incomplete tweet %+v", tw)
					}
					b, err := tw.MarshalJSON()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := tweet.Parse(b); err != nil {
						t.Errorf("emitted tweet does not read back: %v", err)
					}
				}
			})
			t.Run("Cancelled", func(t *testing.T) {
				s := newSource(t)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				n := 0
				if err := s.Run(ctx, func(*tweet.Tweet) { n++ }); err != nil || n > 0 {
					t.Errorf("Run with a cancelled context = %v after %d tweets", err, n)
				}
			})
			t.Run("RunTwice", func(t *testing.T) {
				s := newSource(t)
				first := func() string {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					var text string
					if err := s.Run(ctx, func(tw *tweet.Tweet) { text = tw.Text; cancel() }); err != nil {
						t.Fatal(err)
					}
					return text
				}
				if a, b := first(), first(); a != b {
					t.Errorf("second Run starts with %q, first with %q", b, a)
				}
			})
		})
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	gen := func(seed uint64) []byte {
		g, err := NewGenerator(GeneratorConfig{Seed: seed, Start: start2014})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for range 200 {
			b, err := g.Next().MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		return buf.Bytes()
	}
	a, b, c := gen(42), gen(42), gen(43)
	if !bytes.Equal(a, b) {
		t.Error("the same seed gave different tweets")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same tweets")
	}
}

// TestGeneratorRealistic checks the properties of docs/birdwatch.md §12
// over many tweets.
func TestGeneratorRealistic(t *testing.T) {
	const n = 6000
	g, err := NewGenerator(GeneratorConfig{Seed: 3, Start: start2014, Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	var prev int64
	var retweets, english, withMedia, withURL int
	followers := map[string]int64{}
	for i := range n {
		tw := g.Next()
		checkTweet(t, tw)
		if tw.ID <= prev {
			t.Fatalf("ids not increasing: %d after %d", tw.ID, prev)
		}
		prev = tw.ID
		if i == 0 {
			if tm, _ := tw.Time(); !tm.Equal(start2014) {
				t.Errorf("first tweet at %v, want Start %v", tm, start2014)
			}
		}
		if rt := tw.RetweetedStatus; rt != nil {
			retweets++
			checkTweet(t, rt)
			if rt.ID >= tw.ID || rt.RetweetCount < 1 || rt.User == tw.User || rt.RetweetedStatus != nil {
				t.Errorf("bad retweeted_status: id %d (retweet %d), count %d", rt.ID, tw.ID, rt.RetweetCount)
			}
			prefix := "RT @" + rt.User.ScreenName + ": "
			if !strings.HasPrefix(tw.Text, prefix) {
				t.Errorf("retweet text %q does not start with %q", tw.Text, prefix)
			}
			if len(tw.Entities.UserMentions) == 0 || tw.Entities.UserMentions[0].ScreenName != rt.User.ScreenName {
				t.Errorf("retweet does not mention the original author: %+v", tw.Entities.UserMentions)
			}
		}
		if tw.Lang == "en" {
			english++
		}
		if len(tw.Entities.Media) > 0 {
			withMedia++
		}
		if len(tw.Entities.URLs) > 0 {
			withURL++
		}
		followers[tw.User.ScreenName] = tw.User.FollowersCount
	}
	share := func(k int) float64 { return float64(k) / n }
	if s := share(retweets); s < 0.28 || s > 0.38 {
		t.Errorf("%.2f of tweets are retweets, want about a third", s)
	}
	if s := share(english); s < 0.9 || s > 0.96 {
		t.Errorf("%.2f of tweets are English, want about 0.93", s)
	}
	if withMedia == 0 || withURL == 0 {
		t.Errorf("%d tweets with media, %d with links", withMedia, withURL)
	}
	var counts []int64
	for _, f := range followers {
		counts = append(counts, f)
	}
	slices.Sort(counts)
	if median, top := counts[len(counts)/2], counts[len(counts)-1]; median > 1000 || top < 1_000_000 {
		t.Errorf("followers not long-tailed: median %d, max %d", median, top)
	}
	// Tweets come at the configured rate.
	last, _ := g.Next().Time()
	if rate := float64(n) / last.Sub(start2014).Seconds(); math.Abs(rate-20) > 2 {
		t.Errorf("rate %.1f tweets/s, want 20", rate)
	}
}

// checkTweet checks one tweet's invariants.
func checkTweet(t *testing.T, tw *tweet.Tweet) {
	t.Helper()
	if len(tw.IDStr) != 18 || tw.IDStr != strconv.FormatInt(tw.ID, 10) {
		t.Fatalf("id %d / %q is not an 18-digit snowflake", tw.ID, tw.IDStr)
	}
	tm, err := time.Parse(tweet.TimeLayout, tw.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := strconv.ParseInt(tw.TimestampMs, 10, 64)
	if snow := tw.ID>>22 + twitterEpoch; snow/1000 != tm.Unix() || snow != ms {
		t.Fatalf("id time %d, created_at %v, timestamp_ms %d disagree", snow, tm, ms)
	}
	if n := utf8.RuneCountInString(tw.Text); n == 0 || n > 140 {
		t.Fatalf("text of %d characters: %q", n, tw.Text)
	}
	u := tw.User
	if u == nil || u.ScreenName == "" || u.Name == "" || !strings.HasPrefix(u.ProfileImageURL, "/images/avatar-") || len(u.ScreenName) > 15 {
		t.Fatalf("bad user %+v", u)
	}
	e := tw.Entities
	if e == nil || e.Hashtags == nil || e.Symbols == nil || e.URLs == nil || e.UserMentions == nil {
		t.Fatalf("entities with nil lists: %+v", e)
	}
	if e.Media != nil && len(e.Media) == 0 {
		t.Fatal("empty media list instead of none")
	}
	runes := []rune(tw.Text)
	at := func(ix tweet.Indices) string {
		if ix[0] < 0 || ix[1] > len(runes) || ix[0] >= ix[1] {
			t.Fatalf("indices %v outside %q", ix, tw.Text)
		}
		return string(runes[ix[0]:ix[1]])
	}
	for _, h := range e.Hashtags {
		if got := at(h.Indices); got != "#"+h.Text {
			t.Errorf("hashtag %q at %v reads %q in %q", h.Text, h.Indices, got, tw.Text)
		}
	}
	for _, m := range e.UserMentions {
		if got := at(m.Indices); got != "@"+m.ScreenName {
			t.Errorf("mention %q at %v reads %q in %q", m.ScreenName, m.Indices, got, tw.Text)
		}
	}
	for _, l := range e.URLs {
		if got := at(l.Indices); got != l.URL || !strings.HasPrefix(l.URL, "http://t.co/") || len(l.URL) != 22 {
			t.Errorf("url %q at %v reads %q", l.URL, l.Indices, got)
		}
	}
	for _, m := range e.Media {
		if got := at(m.Indices); got != m.URL || m.Type != "photo" || !strings.HasPrefix(m.DisplayURL, "pic.twitter.com/") {
			t.Errorf("media %+v reads %q", m, got)
		}
	}
}

func TestGeneratorConfig(t *testing.T) {
	for _, cfg := range []GeneratorConfig{
		{Rate: -1}, {Rate: math.NaN()}, {Rate: 2e6}, {Users: -5}, {Avatars: -1},
		{AvatarURL: "/a.png"}, {AvatarURL: "/a-%d-%d.png"}, {AvatarURL: "/%s.png"},
	} {
		if _, err := NewGenerator(cfg); err == nil {
			t.Errorf("NewGenerator(%+v) accepted an invalid configuration", cfg)
		}
	}
	if _, err := NewSynthetic(SyntheticConfig{Backfill: -1}); err == nil {
		t.Error("negative backfill accepted")
	}
	g, err := NewGenerator(GeneratorConfig{Users: 3, AvatarURL: "http://cdn/x/%d.png", Avatars: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.Users()); n != 3 {
		t.Errorf("%d users, want 3", n)
	}
	if u := g.Users()[2].ProfileImageURL; u != "http://cdn/x/0.png" {
		t.Errorf("avatar URL %q", u)
	}
}

// TestSyntheticPacing checks the backfill, the pacing and the stop.
func TestSyntheticPacing(t *testing.T) {
	const rate = 200.0
	s, err := NewSynthetic(SyntheticConfig{GeneratorConfig: GeneratorConfig{Seed: 5, Rate: rate, Users: 300}, Backfill: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	begin := time.Now()
	var backfillDone time.Duration
	var last *tweet.Tweet
	n := 0
	err = s.Run(ctx, func(tw *tweet.Tweet) {
		n++
		last = tw
		if n == 100 {
			backfillDone = time.Since(begin)
		}
		if n == 140 {
			cancel()
		}
	})
	elapsed := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	if backfillDone > time.Second {
		t.Errorf("backfill took %v, want it immediate", backfillDone)
	}
	// 40 paced tweets at 200/s take about 0.2 s.
	if elapsed < 100*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("140 tweets took %v, want about 0.2 s after the backfill", elapsed)
	}
	// Tweets are dated in real time.
	if tm, _ := last.Time(); time.Until(tm).Abs() > 2*time.Second {
		t.Errorf("last tweet dated %v, now is %v", tm, time.Now())
	}
}

// TestSyntheticExplicitStart checks that a set Start gives exactly the
// Generator's tweets.
func TestSyntheticExplicitStart(t *testing.T) {
	cfg := GeneratorConfig{Seed: 8, Start: start2014, Rate: 5000, Users: 300}
	s, err := NewSynthetic(SyntheticConfig{GeneratorConfig: cfg, Backfill: 10})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	i := 0
	err = s.Run(ctx, func(tw *tweet.Tweet) {
		if want := g.Next(); tw.IDStr != want.IDStr || tw.Text != want.Text {
			t.Errorf("tweet %d: %s %q, want %s %q", i, tw.IDStr, tw.Text, want.IDStr, want.Text)
		}
		if i++; i == 50 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeReplayFile writes lines to a file, gzipped for a .gz name.
func writeReplayFile(t *testing.T, name string, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	data := []byte(strings.Join(lines, "\n"))
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplay(t *testing.T) {
	raw, err := os.ReadFile(corpus.Path())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	lines = append(lines, "", "not json", `{"text": 5}`, `{"text":"`+strings.Repeat("x", 5000)+`","id":1}`, "\r")
	for _, name := range []string{"tweets.jsonl", "tweets.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			path := writeReplayFile(t, name, lines)
			r, err := NewReplay(ReplayConfig{Path: path, MaxLineBytes: 4000})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			st, err := r.RunStats(context.Background(), func(tw *tweet.Tweet) { ids = append(ids, tw.ID-corpus.Base) })
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int64, 24)
			for i := range want {
				want[i] = int64(i + 1)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("replayed %v, want 1…24 in file order", ids)
			}
			if st != (ReplayStats{Emitted: 24, NotStatus: 4, Malformed: 3}) {
				t.Errorf("stats %+v", st)
			}
		})
	}
	if _, err := NewReplay(ReplayConfig{}); err == nil {
		t.Error("replay without a path accepted")
	}
	for _, cfg := range []ReplayConfig{{Path: "x", Speed: -1}, {Path: "x", Speed: math.Inf(1)}, {Path: "x", MaxDelay: -1}} {
		if _, err := NewReplay(cfg); err == nil {
			t.Errorf("NewReplay(%+v) accepted", cfg)
		}
	}
	r, _ := NewReplay(ReplayConfig{Path: filepath.Join(t.TempDir(), "missing.jsonl")})
	if err := r.Run(context.Background(), func(*tweet.Tweet) {}); err == nil {
		t.Error("replaying a missing file succeeded")
	}
	bad := filepath.Join(t.TempDir(), "bad.gz")
	if err := os.WriteFile(bad, []byte("plain text, not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ = NewReplay(ReplayConfig{Path: bad})
	if err := r.Run(context.Background(), func(*tweet.Tweet) {}); err == nil {
		t.Error("replaying a corrupt gzip file succeeded")
	}
}

// replayLines returns n statuses gap apart.
func replayLines(n int, gap time.Duration) []string {
	var lines []string
	for i := range n {
		tm := start2014.Add(time.Duration(i) * gap)
		b, _ := json.Marshal(map[string]any{
			"id": corpus.Base + int64(i), "id_str": strconv.FormatInt(corpus.Base+int64(i), 10), "text": "tweet " + strconv.Itoa(i),
			"created_at": tm.Format(tweet.TimeLayout), "timestamp_ms": strconv.FormatInt(tm.UnixMilli(), 10),
		})
		lines = append(lines, string(b))
	}
	return lines
}

func TestReplaySpeed(t *testing.T) {
	// Five tweets a second apart, replayed 20 times faster: 4 × 50 ms.
	path := writeReplayFile(t, "t.jsonl", replayLines(5, time.Second))
	r, err := NewReplay(ReplayConfig{Path: path, Speed: 20})
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	if err := r.Run(context.Background(), func(*tweet.Tweet) { times = append(times, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if d := times[4].Sub(times[0]); d < 180*time.Millisecond || d > 2*time.Second {
		t.Errorf("replay took %v, want about 200 ms", d)
	}

	// An hour's gap is capped by MaxDelay.
	path = writeReplayFile(t, "gap.jsonl", replayLines(2, time.Hour))
	r, _ = NewReplay(ReplayConfig{Path: path, Speed: 1, MaxDelay: 50 * time.Millisecond})
	begin := time.Now()
	if err := r.Run(context.Background(), func(*tweet.Tweet) {}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("an hour's gap took %v with MaxDelay 50ms", d)
	}

	// Cancelling during a pause stops Run at once.
	r, _ = NewReplay(ReplayConfig{Path: path, Speed: 1, MaxDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	begin = time.Now()
	n := 0
	err = r.Run(ctx, func(*tweet.Tweet) {
		n++
		time.AfterFunc(20*time.Millisecond, cancel)
	})
	if err != nil || n != 1 || time.Since(begin) > 2*time.Second {
		t.Errorf("cancelled replay: %v after %d tweets and %v", err, n, time.Since(begin))
	}
	cancel()
}

func TestAvatarHandler(t *testing.T) {
	h := AvatarHandler()
	tests := []struct {
		path   string
		status int
	}{
		{"/images/avatar-0.png", 200},
		{"/images/avatar-63.png", 200},
		{"/x/avatar-99999.png", 200},
		{"/images/avatar-100000.png", 404},
		{"/images/avatar-07.png", 404},
		{"/images/avatar--1.png", 404},
		{"/images/avatar-x.png", 404},
		{"/images/avatar-1.jpg", 404},
		{"/images/favicon.png", 404},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, rec.Code, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "image/png" {
			t.Errorf("GET %s: Content-Type %q", tt.path, ct)
		}
		img, err := png.Decode(rec.Body)
		if err != nil || img.Bounds().Dx() != avatarSize || img.Bounds().Dy() != avatarSize {
			t.Errorf("GET %s: %v, %v", tt.path, err, img)
		}
	}
	if !bytes.Equal(Avatar(5), Avatar(5)) || bytes.Equal(Avatar(5), Avatar(6)) {
		t.Error("avatars are not a function of their number")
	}
}
