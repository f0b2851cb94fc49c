package tweet

// Stripped is the reduced tweet of docs/birdwatch.md §5.2 that answers
// :cmd/query (as elements of :tweet/prev-chunk) and :cmd/missing (as
// :tweet/missing-tweet). Written by transit.Marshal it is a map with
// exactly these keyword keys, in this order: id_str, id, text, created_at,
// retweet_count, favorite_count, entities, user (followers_count, name,
// profile_image_url, screen_name), and retweeted_status only when the tweet
// is a retweet (reduced the same way, without a retweeted_status of its
// own). A nil pointer is written as null.
//
// A Stripped built by Strip points into its tweet, which is immutable, so
// it costs no copy; treat it as read-only.
type Stripped struct {
	IDStr         *string `transit:"id_str"`
	ID            *int64  `transit:"id"`
	Text          *string `transit:"text"`
	CreatedAt     *string `transit:"created_at"`
	RetweetCount  *int64  `transit:"retweet_count"`
	FavoriteCount *int64  `transit:"favorite_count"`
	// Entities is the tweet's entities "as stored": a keyword-keyed
	// *transit.Map of the JSON the tweet was read from, a *Entities for a
	// tweet built in Go, or nil.
	Entities        any          `transit:"entities"`
	User            StrippedUser `transit:"user"`
	RetweetedStatus *Stripped    `transit:"retweeted_status,omitempty"`
}

// StrippedUser is the author reduced to the four fields the client reads.
type StrippedUser struct {
	FollowersCount  *int64  `transit:"followers_count"`
	Name            *string `transit:"name"`
	ProfileImageURL *string `transit:"profile_image_url"`
	ScreenName      *string `transit:"screen_name"`
}

// Missing returns the reply to :cmd/missing for an id that is not stored:
// every stripped key present and null, including a user map of four nulls,
// and no retweeted_status (docs/birdwatch.md §3.2).
func Missing() Stripped { return Stripped{} }

// Strip reduces t to the shape of docs/birdwatch.md §5.2 (the original's
// strip-tweet and strip-source). A stripped field that was absent or null
// in the JSON t was read from is null; a missing user gives a user map of
// nulls. retweeted_status is present only when t is a retweet.
func (t *Tweet) Strip() Stripped {
	s := t.strip()
	if t.RetweetedStatus != nil {
		rt := t.RetweetedStatus.strip()
		s.RetweetedStatus = &rt
	}
	return s
}

func (t *Tweet) strip() Stripped {
	s := Stripped{
		IDStr:         opt(&t.IDStr, t.null, nullIDStr),
		ID:            opt(&t.ID, t.null, nullID),
		Text:          opt(&t.Text, t.null, nullText),
		CreatedAt:     opt(&t.CreatedAt, t.null, nullCreatedAt),
		RetweetCount:  opt(&t.RetweetCount, t.null, nullRetweetCount),
		FavoriteCount: opt(&t.FavoriteCount, t.null, nullFavoriteCount),
	}
	switch {
	case t.rawEntities != nil:
		if v, err := jsonToTransit(t.rawEntities); err == nil {
			s.Entities = v
		}
		// An error is impossible for entities that encoding/json accepted;
		// if it happened anyway, null is what the client copes with best.
	case t.Entities != nil:
		e := t.Entities
		if e.Hashtags == nil || e.Symbols == nil || e.URLs == nil || e.UserMentions == nil {
			c := *e
			c.normalize()
			e = &c
		}
		s.Entities = e
	}
	if u := t.User; u != nil {
		s.User = StrippedUser{
			FollowersCount:  opt(&u.FollowersCount, u.null, nullFollowersCount),
			Name:            opt(&u.Name, u.null, nullName),
			ProfileImageURL: opt(&u.ProfileImageURL, u.null, nullProfileImageURL),
			ScreenName:      opt(&u.ScreenName, u.null, nullScreenName),
		}
	}
	return s
}

// Full returns the value :tweet/new carries: the complete tweet with
// keyword keys (docs/birdwatch.md §3.2). For a tweet read by Parse it is
// the document as read, as a *transit.Map in the document's key order with
// every field, modelled or not (integers as int64, or *big.Int beyond 64
// bits; other numbers as float64). For a tweet built in Go (or a slim one)
// it is t itself, which transit writes as a map of its modelled fields.
//
// Converting the JSON costs a few microseconds per kilobyte: call Full once
// per tweet and send the same value to every matching client.
func (t *Tweet) Full() (any, error) {
	if t.raw == nil {
		if t.Entities != nil && (t.Entities.Hashtags == nil || t.Entities.Symbols == nil ||
			t.Entities.URLs == nil || t.Entities.UserMentions == nil) {
			c := *t
			e := *t.Entities
			e.normalize()
			c.Entities = &e
			return &c, nil
		}
		return t, nil
	}
	return jsonToTransit(t.raw)
}
