package tweet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrNoText is returned by Parse for a JSON object without a "text" field:
// a delete or limit notice from the streaming API, not a status. Such lines
// are skipped, as BirdWatch's TwitterClient did.
var ErrNoText = errors.New("tweet: not a status (no text)")

// Parse reads one Twitter v1.1 status from JSON. The returned tweet keeps a
// copy of data, so Full returns every field, modelled or not, and Strip
// sends null for stripped fields that data lacks or has as null. ID is
// taken from "id", or from "id_str" when "id" is absent.
//
// Errors: ErrNoText for an object without "text" (or with a null one);
// ErrUnsafeURL, wrapped, for a status (or its retweeted_status) with an
// entity URL or an avatar whose scheme is not http or https; and an error
// wrapping encoding/json's for malformed JSON or a field of the wrong
// type.
func Parse(data []byte) (*Tweet, error) {
	data = bytes.TrimSpace(data)
	var w wireTweet
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("tweet: %w", err)
	}
	if w.Text == nil {
		return nil, ErrNoText
	}
	t, err := w.tweet()
	if err != nil {
		return nil, err
	}
	t.raw = append([]byte(nil), data...)
	return t, nil
}

// MarshalJSON writes the tweet as Twitter JSON: the document it was read
// from when it has one, otherwise its modelled fields, with null for the
// stripped fields that were null when it was read, so that Parse of the
// result strips and matches as t does.
func (t *Tweet) MarshalJSON() ([]byte, error) {
	if t.raw != nil {
		return t.raw, nil
	}
	w, err := wireOf(t)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// wireTweet is the JSON form of a status, with pointers so that absent and
// null fields can be told from zero values.
type wireTweet struct {
	CreatedAt           *string         `json:"created_at"`
	ID                  *int64          `json:"id"`
	IDStr               *string         `json:"id_str"`
	Text                *string         `json:"text"`
	InReplyToScreenName *string         `json:"in_reply_to_screen_name,omitempty"`
	User                *wireUser       `json:"user"`
	RetweetedStatus     *wireTweet      `json:"retweeted_status,omitempty"`
	RetweetCount        *int64          `json:"retweet_count"`
	FavoriteCount       *int64          `json:"favorite_count"`
	Entities            json.RawMessage `json:"entities"`
	Lang                *string         `json:"lang"`
	TimestampMs         *string         `json:"timestamp_ms,omitempty"`
}

type wireUser struct {
	ID              *int64  `json:"id"`
	IDStr           *string `json:"id_str"`
	Name            *string `json:"name"`
	ScreenName      *string `json:"screen_name"`
	Location        *string `json:"location"`
	Description     *string `json:"description"`
	FollowersCount  *int64  `json:"followers_count"`
	FriendsCount    *int64  `json:"friends_count"`
	ProfileImageURL *string `json:"profile_image_url"`
	Lang            *string `json:"lang"`
	Verified        *bool   `json:"verified"`
}

// str returns *p, or "" with the null bit set when p is nil.
func str(p *string, null *fieldSet, bit fieldSet) string {
	if p == nil {
		*null |= bit
		return ""
	}
	return *p
}

func num(p *int64, null *fieldSet, bit fieldSet) int64 {
	if p == nil {
		*null |= bit
		return 0
	}
	return *p
}

func (w *wireTweet) tweet() (*Tweet, error) {
	t := &Tweet{}
	t.CreatedAt = str(w.CreatedAt, &t.null, nullCreatedAt)
	t.IDStr = str(w.IDStr, &t.null, nullIDStr)
	t.Text = str(w.Text, &t.null, nullText)
	t.RetweetCount = num(w.RetweetCount, &t.null, nullRetweetCount)
	t.FavoriteCount = num(w.FavoriteCount, &t.null, nullFavoriteCount)
	var ignored fieldSet
	t.InReplyToScreenName = str(w.InReplyToScreenName, &ignored, 0)
	t.Lang = str(w.Lang, &ignored, 0)
	t.TimestampMs = str(w.TimestampMs, &ignored, 0)
	if w.ID != nil {
		t.ID = *w.ID
	} else {
		t.null |= nullID
		if w.IDStr != nil {
			id, err := strconv.ParseInt(*w.IDStr, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("tweet: id_str %q is not a 64-bit integer", *w.IDStr)
			}
			t.ID = id
		}
	}
	if w.User != nil {
		t.User = w.User.user()
	}
	if len(w.Entities) > 0 && string(w.Entities) != "null" {
		var e Entities
		if err := json.Unmarshal(w.Entities, &e); err != nil {
			return nil, fmt.Errorf("tweet: entities: %w", err)
		}
		e.normalize()
		t.Entities = &e
		t.rawEntities = w.Entities
	}
	if err := t.checkURLs(); err != nil {
		return nil, err
	}
	if w.RetweetedStatus != nil {
		rt, err := w.RetweetedStatus.tweet()
		if err != nil {
			return nil, fmt.Errorf("retweeted_status: %w", err)
		}
		t.RetweetedStatus = rt
	}
	return t, nil
}

func (w *wireUser) user() *User {
	u := &User{}
	var ignored fieldSet
	u.ID = num(w.ID, &ignored, 0)
	u.IDStr = str(w.IDStr, &ignored, 0)
	u.Name = str(w.Name, &u.null, nullName)
	u.ScreenName = str(w.ScreenName, &u.null, nullScreenName)
	u.Location = str(w.Location, &ignored, 0)
	u.Description = str(w.Description, &ignored, 0)
	u.FollowersCount = num(w.FollowersCount, &u.null, nullFollowersCount)
	u.FriendsCount = num(w.FriendsCount, &ignored, 0)
	u.ProfileImageURL = str(w.ProfileImageURL, &u.null, nullProfileImageURL)
	u.Lang = str(w.Lang, &ignored, 0)
	if w.Verified != nil {
		u.Verified = *w.Verified
	}
	return u
}

// normalize replaces nil slices by empty ones, so that the entities are
// written with arrays, as Twitter writes them.
func (e *Entities) normalize() {
	if e.Hashtags == nil {
		e.Hashtags = []Hashtag{}
	}
	if e.Symbols == nil {
		e.Symbols = []Symbol{}
	}
	if e.URLs == nil {
		e.URLs = []URL{}
	}
	if e.UserMentions == nil {
		e.UserMentions = []Mention{}
	}
}

// opt returns &v unless bit is set in null.
func opt[T any](v *T, null fieldSet, bit fieldSet) *T {
	if null&bit != 0 {
		return nil
	}
	return v
}

func wireOf(t *Tweet) (*wireTweet, error) {
	w := &wireTweet{
		CreatedAt:     opt(&t.CreatedAt, t.null, nullCreatedAt),
		ID:            opt(&t.ID, t.null, nullID),
		IDStr:         opt(&t.IDStr, t.null, nullIDStr),
		Text:          opt(&t.Text, t.null, nullText),
		RetweetCount:  opt(&t.RetweetCount, t.null, nullRetweetCount),
		FavoriteCount: opt(&t.FavoriteCount, t.null, nullFavoriteCount),
		Lang:          &t.Lang,
	}
	if t.InReplyToScreenName != "" {
		w.InReplyToScreenName = &t.InReplyToScreenName
	}
	if t.TimestampMs != "" {
		w.TimestampMs = &t.TimestampMs
	}
	if u := t.User; u != nil {
		w.User = &wireUser{
			ID:              &u.ID,
			IDStr:           &u.IDStr,
			Name:            opt(&u.Name, u.null, nullName),
			ScreenName:      opt(&u.ScreenName, u.null, nullScreenName),
			Location:        &u.Location,
			Description:     &u.Description,
			FollowersCount:  opt(&u.FollowersCount, u.null, nullFollowersCount),
			FriendsCount:    &u.FriendsCount,
			ProfileImageURL: opt(&u.ProfileImageURL, u.null, nullProfileImageURL),
			Lang:            &u.Lang,
			Verified:        &u.Verified,
		}
	}
	switch {
	case t.rawEntities != nil:
		w.Entities = t.rawEntities
	case t.Entities != nil:
		e := *t.Entities
		e.normalize()
		b, err := json.Marshal(&e)
		if err != nil {
			return nil, fmt.Errorf("tweet: entities: %w", err)
		}
		w.Entities = b
	}
	if t.RetweetedStatus != nil {
		rt, err := wireOf(t.RetweetedStatus)
		if err != nil {
			return nil, err
		}
		w.RetweetedStatus = rt
	}
	return w, nil
}
