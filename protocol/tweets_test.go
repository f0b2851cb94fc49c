package protocol

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sente-go/sente/transit"
)

// Synthetic BirdWatch tweets (docs/birdwatch.md §12): full raw tweets with
// keyword keys, as :tweet/new pushes them; every third one a retweet.

// firstTweetID is a snowflake-style 18-digit id; later ids increase.
const firstTweetID = int64(546814306545344512)

type tweetUser struct {
	id         int64
	name, nick string
	followers  int
}

var tweetUsers = []tweetUser{
	{14613, "Jane Doe", "janedoe", 1532},
	{59234, "Tech Weekly", "techweekly", 184230},
	{70111, "Rich Hickey Fan", "lispfan", 87},
	{88812, "Functional Daily", "fpdaily", 23015},
}

func userMap(u tweetUser) *transit.Map {
	return transit.NewMap(
		kw("id"), u.id,
		kw("id_str"), strconv.FormatInt(u.id, 10),
		kw("name"), u.name,
		kw("screen_name"), u.nick,
		kw("followers_count"), u.followers,
		kw("profile_image_url"), "/images/favicon.png",
		kw("lang"), "en",
		kw("description"), "Writing about Clojure, ClojureScript and the JVM.",
		kw("verified"), false,
	)
}

// rawTweet returns tweet number i (0-based) by user u with the given text,
// listing the hashtag, the URL and the mentions its text contains.
func rawTweet(i int, u tweetUser, text string, mentions []tweetUser, retweetOf *transit.Map) *transit.Map {
	id := firstTweetID + int64(i)*4096
	created := time.Date(2014, 12, 22, 23, 45, 1, 0, time.UTC).Add(time.Duration(i) * time.Second)
	ments := make([]any, len(mentions))
	for j, m := range mentions {
		ments[j] = transit.NewMap(
			kw("screen_name"), m.nick,
			kw("name"), m.name,
			kw("id"), m.id,
			kw("id_str"), strconv.FormatInt(m.id, 10),
			kw("indices"), []any{3, 4 + len(m.nick)},
		)
	}
	t := transit.NewMap(
		kw("created_at"), created.Format("Mon Jan 02 15:04:05 -0700 2006"),
		kw("id"), id,
		kw("id_str"), strconv.FormatInt(id, 10),
		kw("text"), text,
		kw("lang"), "en",
		kw("timestamp_ms"), strconv.FormatInt(created.UnixMilli(), 10),
		kw("retweet_count"), i%7,
		kw("favorite_count"), i%5,
		kw("user"), userMap(u),
		kw("entities"), transit.NewMap(
			kw("hashtags"), []any{transit.NewMap(kw("text"), "clojure", kw("indices"), []any{len(text) - 8, len(text)})},
			kw("symbols"), []any{},
			kw("urls"), []any{transit.NewMap(
				kw("url"), "http://t.co/Ab12Cd34Ef",
				kw("expanded_url"), "http://example.com/transducers",
				kw("display_url"), "example.com/transducers",
				kw("indices"), []any{len(text) - 31, len(text) - 9},
			)},
			kw("user_mentions"), ments,
		),
	)
	if retweetOf != nil {
		t.Set(kw("retweeted_status"), retweetOf)
	}
	return t
}

// tweetBatch returns n :tweet/new events.
func tweetBatch(n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		u := tweetUsers[i%len(tweetUsers)]
		body := fmt.Sprintf("Transducers land in Clojure 1.7, part %d http://t.co/Ab12Cd34Ef #clojure", i)
		var t *transit.Map
		if i%3 == 2 {
			orig := tweetUsers[(i+1)%len(tweetUsers)]
			original := rawTweet(i-1, orig, body, nil, nil)
			original.Set(kw("retweet_count"), 42)
			t = rawTweet(i, u, "RT @"+orig.nick+": "+body, []tweetUser{orig}, original)
		} else {
			t = rawTweet(i, u, body, nil, nil)
		}
		evs[i] = Event{ID: "tweet/new", Data: t}
	}
	return evs
}
