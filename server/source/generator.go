package source

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sente-go/sente/server/tweet"
)

// Defaults of GeneratorConfig.
const (
	// DefaultRate is the mean number of tweets per second.
	DefaultRate = 10.0
	// DefaultUsers is the number of synthetic users.
	DefaultUsers = 5000
	// DefaultAvatars is the number of distinct avatar images.
	DefaultAvatars = 64
	// DefaultAvatarURL is the pattern of profile_image_url; %d is the avatar
	// number. AvatarHandler serves these paths.
	DefaultAvatarURL = "/images/avatar-%d.png"

	// maxUsers and maxRate bound the configuration.
	maxUsers = 10_000_000
	maxRate  = 1_000_000.0

	// maxText is Twitter's limit in characters.
	maxText = 140
	// retweetRing is how many recent original tweets retweets choose from.
	retweetRing = 4096
	// twitterEpoch is the snowflake epoch, in Unix milliseconds.
	twitterEpoch = 1288834974657
)

// GeneratorConfig configures the synthetic tweets. The zero value is a
// working configuration; each field's comment gives its default.
type GeneratorConfig struct {
	// Seed makes the tweets deterministic: the same seed and Start give
	// the same tweets. Every value, zero included, is a valid seed.
	Seed uint64
	// Rate is the mean number of tweets per second of tweet time
	// (Poisson arrivals). 0 means DefaultRate; at most 1,000,000.
	Rate float64
	// Start is the created_at time of the first tweet. The zero value means
	// the time the generator is created (NewGenerator) or, for Synthetic,
	// when Run starts minus the backfill.
	Start time.Time
	// Users is how many distinct authors there are. 0 means DefaultUsers.
	Users int
	// Avatars is how many distinct avatar images users share. 0 means
	// DefaultAvatars.
	Avatars int
	// AvatarURL is the fmt pattern of profile_image_url with one %d for
	// the avatar number. "" means DefaultAvatarURL.
	AvatarURL string
}

// resolve fills in defaults and validates.
func (c GeneratorConfig) resolve() (GeneratorConfig, error) {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Users == 0 {
		c.Users = DefaultUsers
	}
	if c.Avatars == 0 {
		c.Avatars = DefaultAvatars
	}
	if c.AvatarURL == "" {
		c.AvatarURL = DefaultAvatarURL
	}
	switch {
	case !(c.Rate > 0 && c.Rate <= maxRate):
		return c, fmt.Errorf("source: rate %v outside (0, %v]", c.Rate, maxRate)
	case c.Users < 0 || c.Users > maxUsers:
		return c, fmt.Errorf("source: users %d outside [1, %d]", c.Users, maxUsers)
	case c.Avatars < 0:
		return c, errors.New("source: negative avatar count")
	case strings.Count(c.AvatarURL, "%d") != 1 || strings.Count(c.AvatarURL, "%") != 1:
		return c, fmt.Errorf("source: avatar URL %q must contain exactly one %%d", c.AvatarURL)
	}
	return c, nil
}

// Generator produces realistic synthetic tweets (docs/birdwatch.md §12),
// deterministically for a given configuration: 18-digit snowflake ids
// increasing with created_at, text from topic vocabularies with Zipf-like
// word frequencies that contains every entity it lists (hashtags, mentions,
// t.co links, sometimes a photo), about a third retweets of recent tweets
// by other users with a complete retweeted_status, authors with
// long-tailed follower counts and locally served avatars, and 93% English.
//
// A Generator is not safe for concurrent use. The tweets it returns are
// complete and never modified afterwards; users are shared between tweets.
type Generator struct {
	cfg   GeneratorConfig
	rng   *rand.Rand
	now   time.Time // created_at of the last tweet
	id    int64     // id of the last tweet
	users []*tweet.User
	// userTopic is each user's favourite topic.
	userTopic []int
	// Samplers, each a cumulative weight table.
	userPick, topicPick, functionPick, generalPick sampler
	wordPick, tagPick                              []sampler // per topic
	langPick                                       map[string]sampler
	tail                                           []string
	// ring holds recent original tweets that retweets copy.
	ring     [retweetRing]*original
	ringNext int
	ringLen  int
}

type original struct {
	t        *tweet.Tweet
	retweets int64
}

// sampler draws an index with probability proportional to 1/(rank+1)^s.
type sampler []float64

func newSampler(n int, s float64) sampler {
	cum := make(sampler, n)
	total := 0.0
	for i := range cum {
		total += 1 / math.Pow(float64(i+1), s)
		cum[i] = total
	}
	return cum
}

func (s sampler) draw(r *rand.Rand) int {
	x := r.Float64() * s[len(s)-1]
	return min(sort.SearchFloat64s(s, x), len(s)-1)
}

// NewGenerator returns a generator for cfg, or an error for an invalid
// configuration.
func NewGenerator(cfg GeneratorConfig) (*Generator, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	return newGenerator(cfg), nil
}

func newGenerator(cfg GeneratorConfig) *Generator {
	g := &Generator{
		cfg:          cfg,
		rng:          rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		now:          cfg.Start.UTC().Truncate(time.Millisecond),
		topicPick:    newSampler(len(topics), 0.8),
		functionPick: newSampler(len(functionWords), 1.0),
		generalPick:  newSampler(len(generalWords), 0.9),
		tail:         tailWords(),
		langPick:     map[string]sampler{},
	}
	for lang, w := range otherLangWords {
		g.langPick[lang] = newSampler(len(w), 1.0)
	}
	for _, t := range topics {
		g.wordPick = append(g.wordPick, newSampler(len(t.Words), 1.0))
		g.tagPick = append(g.tagPick, newSampler(len(t.Hashtags), 1.2))
	}
	g.makeUsers()
	g.userPick = newSampler(len(g.users), 0.7)
	return g
}

// makeUsers creates the authors: brand accounts first (they tweet most),
// then people.
func (g *Generator) makeUsers() {
	r := g.rng
	n := g.cfg.Users
	g.users = make([]*tweet.User, 0, n)
	g.userTopic = make([]int, 0, n)
	seen := make(map[string]bool, n)
	drop := strings.NewReplacer(".", "", "-", "")
	avatarPrefix, avatarSuffix, _ := strings.Cut(g.cfg.AvatarURL, "%d")
	for i := 0; len(g.users) < n; i++ {
		var name, screen, desc string
		var followers int64
		topic := g.topicPick.draw(r)
		verified := false
		if i < len(brands) {
			b := brands[i]
			name, screen, topic, followers, verified = b.name, b.screenName, b.topic, b.followers, true
		} else {
			first := firstNames[r.IntN(len(firstNames))]
			last := lastNames[r.IntN(len(lastNames))]
			name = first + " " + last
			switch r.IntN(5) {
			case 0:
				screen = strings.ToLower(first + last)
			case 1:
				screen = strings.ToLower(first + "_" + last)
			case 2:
				screen = strings.ToLower(first[:1]+last) + strconv.Itoa(r.IntN(100))
			case 3:
				screen = strings.ToLower(first) + strings.ToLower(topics[topic].Words[r.IntN(10)])
			default:
				screen = strings.ToLower(last) + strconv.Itoa(1950+r.IntN(60))
			}
			screen = drop.Replace(screen)
			if len(screen) > 15 {
				screen = screen[:15]
			}
			// Pareto-distributed followers: median about 50, a few with millions.
			followers = int64(20*math.Pow(1-r.Float64(), -1.25)) - 18
			followers = min(max(followers, 0), 50_000_000)
			verified = followers > 100_000 && r.IntN(2) == 0
		}
		for base, k := screen, 2; seen[screen]; k++ {
			suffix := strconv.Itoa(k)
			screen = base[:min(len(base), 15-len(suffix))] + suffix
		}
		seen[screen] = true
		t := topics[topic]
		desc = strings.Join([]string{t.Words[r.IntN(len(t.Words))], t.Words[r.IntN(len(t.Words))],
			"and", generalWords[r.IntN(len(generalWords))] + ".", "#" + t.Hashtags[0]}, " ")
		id := 10_000_000 + r.Int64N(2_900_000_000)
		lang := "en"
		if r.IntN(20) == 0 {
			lang = otherLangs[r.IntN(len(otherLangs)-1)].code
		}
		g.users = append(g.users, &tweet.User{
			ID:              id,
			IDStr:           strconv.FormatInt(id, 10),
			Name:            name,
			ScreenName:      screen,
			Location:        locations[r.IntN(len(locations))],
			Description:     desc,
			FollowersCount:  followers,
			FriendsCount:    int64(r.IntN(2000)),
			ProfileImageURL: avatarPrefix + strconv.Itoa(len(g.users)%g.cfg.Avatars) + avatarSuffix,
			Lang:            lang,
			Verified:        verified,
		})
		g.userTopic = append(g.userTopic, topic)
	}
}

// Users returns the generator's users. The slice and the users are shared:
// do not modify them.
func (g *Generator) Users() []*tweet.User { return g.users }

// Next returns the next tweet. Its created_at follows the previous one by
// an exponentially distributed interval of mean 1/Rate seconds.
func (g *Generator) Next() *tweet.Tweet {
	r := g.rng
	if g.id != 0 { // the first tweet is at Start
		gap := time.Duration(r.ExpFloat64() / g.cfg.Rate * float64(time.Second))
		g.now = g.now.Add(max(gap, time.Millisecond/10))
	}
	ms := g.now.UnixMilli()
	id := (ms-twitterEpoch)<<22 | int64(r.IntN(1024))<<12 | int64(r.IntN(4096))
	if id <= g.id {
		id = g.id + 1
	}
	g.id = id
	if g.ringLen > 16 && r.IntN(3) == 0 {
		if t := g.retweet(id); t != nil {
			return t
		}
	}
	t := g.original(id)
	g.ring[g.ringNext] = &original{t: t}
	g.ringNext = (g.ringNext + 1) % retweetRing
	g.ringLen = min(g.ringLen+1, retweetRing)
	return t
}

// stamp fills in the time fields of t from the generator's clock.
func (g *Generator) stamp(t *tweet.Tweet, id int64) {
	t.ID = id
	t.IDStr = strconv.FormatInt(id, 10)
	t.CreatedAt = g.now.Format(tweet.TimeLayout)
	t.TimestampMs = strconv.FormatInt(g.now.UnixMilli(), 10)
}

// textBuilder assembles a tweet's text and its entities with their
// code-point indices.
type textBuilder struct {
	b strings.Builder
	n int // length in code points
	e tweet.Entities
}

func (tb *textBuilder) add(s string) (start, end int) {
	start = tb.n
	tb.b.WriteString(s)
	tb.n += utf8.RuneCountInString(s)
	return start, tb.n
}

func (tb *textBuilder) fits(s string) bool { return tb.n+utf8.RuneCountInString(s) <= maxText }

// original writes a tweet that is not a retweet.
func (g *Generator) original(id int64) *tweet.Tweet {
	r := g.rng
	ui := g.userPick.draw(r)
	u := g.users[ui]
	topic := g.userTopic[ui]
	if r.IntN(3) == 0 {
		topic = g.topicPick.draw(r)
	}
	tp := &topics[topic]
	lang := "en"
	function := functionWords
	functionPick := g.functionPick
	if x := r.IntN(1000); x >= 930 {
		for _, l := range otherLangs {
			if x -= l.perMille; x < 930 {
				lang = l.code
				break
			}
		}
		if w, ok := otherLangWords[lang]; ok {
			function, functionPick = w, g.langPick[lang]
		}
	}

	// Decide the entities first, so the body leaves room for them.
	nTags := [...]int{0, 0, 1, 1, 1, 2}[r.IntN(6)]
	var tags []string
	for range nTags {
		tag := tp.Hashtags[g.tagPick[topic].draw(r)]
		if len(tags) == 0 || tags[0] != tag {
			tags = append(tags, tag)
		}
	}
	var mention *tweet.User
	if r.IntN(4) == 0 {
		mention = g.users[g.userPick.draw(r)]
		if mention == u {
			mention = nil
		}
	}
	withURL := r.IntN(100) < 35
	withMedia := r.IntN(100) < 8
	reserve := 0
	for _, t := range tags {
		reserve += 2 + len(t)
	}
	if mention != nil {
		reserve += 2 + len(mention.ScreenName)
	}
	if withURL {
		reserve += 23
	}
	if withMedia {
		reserve += 23
	}

	tb := &textBuilder{}
	tb.e = tweet.Entities{Hashtags: []tweet.Hashtag{}, Symbols: []tweet.Symbol{}, URLs: []tweet.URL{}, UserMentions: []tweet.Mention{}}
	reply := mention != nil && r.IntN(2) == 0
	if reply {
		s, e := tb.add("@" + mention.ScreenName)
		tb.e.UserMentions = append(tb.e.UserMentions, mentionOf(mention, s, e))
		reserve -= 2 + len(mention.ScreenName)
	}
	words := 5 + r.IntN(12)
	for i := 0; i < words; i++ {
		var w string
		switch x := r.IntN(100); {
		case x < 30:
			w = function[functionPick.draw(r)]
		case x < 75:
			w = tp.Words[g.wordPick[topic].draw(r)]
		case x < 90:
			w = generalWords[g.generalPick.draw(r)]
		case x < 97:
			w = g.tail[r.IntN(len(g.tail))]
		default:
			w = strconv.Itoa(r.IntN(2015))
		}
		if i == 0 {
			r0, size := utf8.DecodeRuneInString(w)
			w = string(unicode.ToUpper(r0)) + w[size:]
		}
		sep := " "
		if tb.n == 0 {
			sep = ""
		}
		if tb.n+len(sep)+len(w)+reserve+1 > maxText {
			break
		}
		tb.add(sep + w)
	}
	if p := [...]string{"", "", "", ".", "!", "?", ":", " …"}[r.IntN(8)]; tb.fits(p) && tb.n+len(p)+reserve <= maxText {
		tb.add(p)
	}
	if mention != nil && !reply {
		tb.add(" ")
		s, e := tb.add("@" + mention.ScreenName)
		tb.e.UserMentions = append(tb.e.UserMentions, mentionOf(mention, s, e))
	}
	for _, tag := range tags {
		tb.add(" ")
		s, e := tb.add("#" + tag)
		tb.e.Hashtags = append(tb.e.Hashtags, tweet.Hashtag{Text: tag, Indices: tweet.Indices{s, e}})
	}
	if withURL {
		tb.add(" ")
		code := g.tco()
		s, e := tb.add("http://t.co/" + code)
		domain := tp.Domains[r.IntN(len(tp.Domains))]
		slug := strings.ToLower(tp.Words[r.IntN(len(tp.Words))])
		tb.e.URLs = append(tb.e.URLs, tweet.URL{
			URL:         "http://t.co/" + code,
			ExpandedURL: "http://" + domain + "/" + slug + "/" + strconv.Itoa(r.IntN(100000)),
			DisplayURL:  domain + "/" + slug + "/…",
			Indices:     tweet.Indices{s, e},
		})
	}
	if withMedia {
		tb.add(" ")
		code := g.tco()
		s, e := tb.add("http://t.co/" + code)
		mid := id - int64(r.IntN(1<<22))
		midStr := strconv.FormatInt(mid, 10)
		file := g.tco() + g.tco()[:5]
		tb.e.Media = []tweet.Media{{
			ID:            mid,
			IDStr:         midStr,
			Indices:       tweet.Indices{s, e},
			MediaURL:      "http://pbs.twimg.com/media/" + file + ".jpg",
			MediaURLHTTPS: "https://pbs.twimg.com/media/" + file + ".jpg",
			URL:           "http://t.co/" + code,
			DisplayURL:    "pic.twitter.com/" + code,
			ExpandedURL:   "http://twitter.com/" + u.ScreenName + "/status/" + strconv.FormatInt(id, 10) + "/photo/1",
			Type:          "photo",
		}}
	}
	t := &tweet.Tweet{
		Text:          tb.b.String(),
		User:          u,
		FavoriteCount: int64(r.ExpFloat64() * 1.5),
		Entities:      &tb.e,
		Lang:          lang,
	}
	if reply {
		t.InReplyToScreenName = mention.ScreenName
	}
	g.stamp(t, id)
	return t
}

func mentionOf(u *tweet.User, s, e int) tweet.Mention {
	return tweet.Mention{ScreenName: u.ScreenName, Name: u.Name, ID: u.ID, IDStr: u.IDStr, Indices: tweet.Indices{s, e}}
}

const tcoAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// tco returns a random 10-character t.co code.
func (g *Generator) tco() string {
	var b [10]byte
	for i := range b {
		b[i] = tcoAlphabet[g.rng.IntN(len(tcoAlphabet))]
	}
	return string(b[:])
}

// retweet writes a retweet of a recent original by another user, or
// returns nil when the chosen original is the retweeter's own.
func (g *Generator) retweet(id int64) *tweet.Tweet {
	r := g.rng
	// Prefer well-followed authors: the best of three recent originals.
	var o *original
	for range 3 {
		c := g.ring[r.IntN(g.ringLen)]
		if o == nil || c.t.User.FollowersCount > o.t.User.FollowersCount {
			o = c
		}
	}
	u := g.users[g.userPick.draw(r)]
	if u == o.t.User {
		return nil
	}
	o.retweets++
	orig := *o.t // a snapshot: the stored original is never modified
	orig.RetweetCount = o.retweets
	orig.FavoriteCount += o.retweets / 3
	origPtr := &orig

	prefix := "RT @" + orig.User.ScreenName + ": "
	pn := utf8.RuneCountInString(prefix)
	text := prefix + orig.Text
	cut := maxText
	if utf8.RuneCountInString(text) > maxText {
		runes := []rune(text)
		text = string(runes[:maxText-1]) + "…"
		cut = maxText - 1
	}
	e := tweet.Entities{Hashtags: []tweet.Hashtag{}, Symbols: []tweet.Symbol{}, URLs: []tweet.URL{}, UserMentions: []tweet.Mention{}}
	e.UserMentions = append(e.UserMentions, mentionOf(orig.User, 3, 4+len(orig.User.ScreenName)))
	shift := func(ix tweet.Indices) (tweet.Indices, bool) {
		ix = tweet.Indices{ix[0] + pn, ix[1] + pn}
		return ix, ix[1] <= cut
	}
	oe := orig.Entities
	for _, h := range oe.Hashtags {
		if ix, ok := shift(h.Indices); ok {
			h.Indices = ix
			e.Hashtags = append(e.Hashtags, h)
		}
	}
	for _, m := range oe.UserMentions {
		if ix, ok := shift(m.Indices); ok {
			m.Indices = ix
			e.UserMentions = append(e.UserMentions, m)
		}
	}
	for _, l := range oe.URLs {
		if ix, ok := shift(l.Indices); ok {
			l.Indices = ix
			e.URLs = append(e.URLs, l)
		}
	}
	for _, m := range oe.Media {
		if ix, ok := shift(m.Indices); ok {
			m.Indices = ix
			e.Media = append(e.Media, m)
		}
	}
	t := &tweet.Tweet{
		Text:            text,
		User:            u,
		RetweetedStatus: origPtr,
		RetweetCount:    orig.RetweetCount,
		FavoriteCount:   0,
		Entities:        &e,
		Lang:            orig.Lang,
	}
	g.stamp(t, id)
	return t
}
