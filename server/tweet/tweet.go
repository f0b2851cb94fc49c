package tweet

import (
	"strconv"
	"time"
)

// TimeLayout is Twitter's created_at format, "Mon Dec 22 23:45:01 +0000 2014".
const TimeLayout = "Mon Jan 02 15:04:05 -0700 2006"

// Tweet is a Twitter v1.1 status with the fields BirdWatch stores, searches
// and sends (docs/birdwatch.md §8, §12), in the order Twitter writes them.
//
// A Tweet built in Go (by the synthetic source, or by a test) has every
// field present; Full writes it as it is, Strip reduces it. A Tweet read
// by Parse also remembers the JSON it came from: Full then returns that
// document, unknown fields included, and Strip sends null for the stripped
// fields the document lacked or had as null, as the original server did.
//
// Build a Tweet completely before handing it on; after that it is read-only
// (see the package documentation). Slices in Entities must be non-nil
// (empty when there is nothing), because Twitter writes [] and the client
// expects arrays.
type Tweet struct {
	CreatedAt string `transit:"created_at"` // TimeLayout, UTC
	ID        int64  `transit:"id"`         // snowflake id, 18 digits in 2014
	IDStr     string `transit:"id_str"`     // ID in decimal
	Text      string `transit:"text"`       // at most 140 characters
	// InReplyToScreenName is the user this tweet answers, "" if none.
	InReplyToScreenName string    `transit:"in_reply_to_screen_name,omitempty"`
	User                *User     `transit:"user"`
	RetweetedStatus     *Tweet    `transit:"retweeted_status,omitempty"` // nil unless a retweet
	RetweetCount        int64     `transit:"retweet_count"`
	FavoriteCount       int64     `transit:"favorite_count"`
	Entities            *Entities `transit:"entities"`
	Lang                string    `transit:"lang"`                   // BCP 47 code: "en", "und", …
	TimestampMs         string    `transit:"timestamp_ms,omitempty"` // epoch milliseconds, decimal

	raw         []byte   // the status as read by Parse; nil for tweets built in Go
	rawEntities []byte   // "entities" as read; nil when absent, null or built in Go
	null        fieldSet // stripped fields that were absent or null in raw
}

// User is a tweet's author, as embedded in the status. Users are shared by
// the tweets of one author and, like tweets, read-only once published.
type User struct {
	ID              int64  `transit:"id"`
	IDStr           string `transit:"id_str"`
	Name            string `transit:"name"`
	ScreenName      string `transit:"screen_name"`
	Location        string `transit:"location"`
	Description     string `transit:"description"`
	FollowersCount  int64  `transit:"followers_count"`
	FriendsCount    int64  `transit:"friends_count"`
	ProfileImageURL string `transit:"profile_image_url"`
	Lang            string `transit:"lang"`
	Verified        bool   `transit:"verified"`

	null fieldSet // stripped user fields absent or null in the JSON
}

// Entities lists what a tweet's text links to. Media is omitted when there
// is none: the client renders an empty media array as a broken image.
type Entities struct {
	Hashtags     []Hashtag `transit:"hashtags" json:"hashtags"`
	Symbols      []Symbol  `transit:"symbols" json:"symbols"`
	URLs         []URL     `transit:"urls" json:"urls"`
	UserMentions []Mention `transit:"user_mentions" json:"user_mentions"`
	Media        []Media   `transit:"media,omitempty" json:"media,omitempty"`
}

// Indices is the [start, end) code-point range of an entity in the text.
type Indices [2]int

// Hashtag is a #tag in the text; Text is without the '#'.
type Hashtag struct {
	Text    string  `transit:"text" json:"text"`
	Indices Indices `transit:"indices" json:"indices"`
}

// Symbol is a $cashtag in the text; Text is without the '$'.
type Symbol struct {
	Text    string  `transit:"text" json:"text"`
	Indices Indices `transit:"indices" json:"indices"`
}

// URL is a t.co link in the text.
type URL struct {
	URL         string  `transit:"url" json:"url"` // http://t.co/…, never empty
	ExpandedURL string  `transit:"expanded_url" json:"expanded_url"`
	DisplayURL  string  `transit:"display_url" json:"display_url"`
	Indices     Indices `transit:"indices" json:"indices"`
}

// Mention is an @name in the text.
type Mention struct {
	ScreenName string  `transit:"screen_name" json:"screen_name"`
	Name       string  `transit:"name" json:"name"`
	ID         int64   `transit:"id" json:"id"`
	IDStr      string  `transit:"id_str" json:"id_str"`
	Indices    Indices `transit:"indices" json:"indices"`
}

// Media is an attached photo. The client shows MediaURL + ":small".
type Media struct {
	ID            int64   `transit:"id" json:"id"`
	IDStr         string  `transit:"id_str" json:"id_str"`
	Indices       Indices `transit:"indices" json:"indices"`
	MediaURL      string  `transit:"media_url" json:"media_url"`
	MediaURLHTTPS string  `transit:"media_url_https" json:"media_url_https"`
	URL           string  `transit:"url" json:"url"`
	DisplayURL    string  `transit:"display_url" json:"display_url"` // pic.twitter.com/…
	ExpandedURL   string  `transit:"expanded_url" json:"expanded_url"`
	Type          string  `transit:"type" json:"type"` // "photo"
}

// fieldSet records which stripped fields were absent or null in the JSON a
// tweet or user was read from. The zero value means "all present", which
// is right for values built in Go.
type fieldSet uint16

const (
	nullIDStr fieldSet = 1 << iota
	nullID
	nullText
	nullCreatedAt
	nullRetweetCount
	nullFavoriteCount
	nullFollowersCount // user fields
	nullName
	nullProfileImageURL
	nullScreenName
)

// NumberNull reports whether the tweet's retweet_count ("retweet_count")
// or favorite_count ("favorite_count") was absent or null in the JSON it
// was read from, so that its zero value means "no value". Other names
// report false.
func (t *Tweet) NumberNull(name string) bool {
	switch name {
	case "retweet_count":
		return t.null&nullRetweetCount != 0
	case "favorite_count":
		return t.null&nullFavoriteCount != 0
	case "id":
		return t.null&nullID != 0 && t.ID == 0
	}
	return false
}

// NumberNull reports whether the user's followers_count was absent or null
// in the JSON it was read from. Other names report false.
func (u *User) NumberNull(name string) bool {
	return name == "followers_count" && u.null&nullFollowersCount != 0
}

// HasNull reports whether the tweet was read from JSON in which one of the
// stripped fields was absent or null (Strip sends those as null).
func (t *Tweet) HasNull() bool { return t.null != 0 || (t.User != nil && t.User.null != 0) }

// Raw returns the JSON the tweet was read from, or nil for a tweet built in
// Go or returned by Slim. The slice is the tweet's own: do not modify it.
func (t *Tweet) Raw() []byte { return t.raw }

// Time returns the tweet's creation time: from TimestampMs when it is set,
// else from CreatedAt. ok is false when neither can be read.
func (t *Tweet) Time() (tm time.Time, ok bool) {
	if t.TimestampMs != "" {
		if ms, err := strconv.ParseInt(t.TimestampMs, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), true
		}
	}
	tm, err := time.Parse(TimeLayout, t.CreatedAt)
	if err != nil {
		return time.Time{}, false
	}
	return tm.UTC(), true
}

// Slim returns a copy of t without the JSON it was read from (the
// entities' JSON, a separate and much smaller copy, is kept since Strip
// sends it). A store keeps slim tweets: they strip to the same value and
// match the same queries, at a fraction of the memory; Full of a slim
// tweet is built from the modelled fields only. For a tweet built in Go it
// returns t itself.
func (t *Tweet) Slim() *Tweet {
	if t.raw == nil {
		return t
	}
	c := *t
	c.raw = nil
	return &c
}
