package query

import (
	"path"
	"strconv"
	"strings"

	"github.com/sente-go/sente/server/tweet"
)

// Field is a searchable field of a tweet, named by its dotted JSON path as
// Elasticsearch names the fields of a dynamically mapped document
// ("text", "user.screen_name", "entities.hashtags.text"). Array elements
// contribute their values to one field. The fields are those of
// tweet.Tweet, and the same again under "retweeted_status.". A field that
// is not in this table matches no document, as an unmapped field does in
// Elasticsearch.
//
// Field values are small integers, stable within one build of the program;
// use Name for anything persisted.
type Field uint8

// Kind is how a field is indexed and queried.
type Kind uint8

const (
	// Text fields are analysed by Tokens; terms, phrases, wildcards, fuzzy
	// and regular expressions match single tokens.
	Text Kind = iota + 1
	// Number fields hold 64-bit integers; terms and ranges compare values.
	Number
	// Boolean fields hold the single token "true" or "false".
	Boolean
)

// fieldDef describes one Field: how to find its values in a tweet.
type fieldDef struct {
	name string
	kind Kind
	// strs yields the field's strings (Text) or "true"/"false" (Boolean).
	strs func(t *tweet.Tweet, yield func(string))
	// nums yields the field's numbers (Number).
	nums func(t *tweet.Tweet, yield func(int64))
	// lowCardinality marks fields with few distinct values (lang, media
	// type, flags), whose terms match a large share of all tweets.
	lowCardinality bool
}

func textField(name string, f func(t *tweet.Tweet, yield func(string))) fieldDef {
	return fieldDef{name: name, kind: Text, strs: f}
}

func numField(name string, f func(t *tweet.Tweet, yield func(int64))) fieldDef {
	return fieldDef{name: name, kind: Number, nums: f}
}

func userText(name string, get func(u *tweet.User) string) fieldDef {
	return textField("user."+name, func(t *tweet.Tweet, yield func(string)) {
		if t.User != nil {
			yield(get(t.User))
		}
	})
}

func userNum(name string, get func(u *tweet.User) int64) fieldDef {
	return numField("user."+name, func(t *tweet.Tweet, yield func(int64)) {
		if t.User != nil {
			yield(get(t.User))
		}
	})
}

// entityText is a text field over one kind of entity.
func entityText[E any](name string, list func(e *tweet.Entities) []E, get func(e *E) string) fieldDef {
	return textField("entities."+name, func(t *tweet.Tweet, yield func(string)) {
		if t.Entities == nil {
			return
		}
		l := list(t.Entities)
		for i := range l {
			yield(get(&l[i]))
		}
	})
}

func entityNum[E any](name string, list func(e *tweet.Entities) []E, get func(e *E) int64) fieldDef {
	return numField("entities."+name, func(t *tweet.Tweet, yield func(int64)) {
		if t.Entities == nil {
			return
		}
		l := list(t.Entities)
		for i := range l {
			yield(get(&l[i]))
		}
	})
}

func hashtags(e *tweet.Entities) []tweet.Hashtag { return e.Hashtags }
func symbols(e *tweet.Entities) []tweet.Symbol   { return e.Symbols }
func urls(e *tweet.Entities) []tweet.URL         { return e.URLs }
func mentions(e *tweet.Entities) []tweet.Mention { return e.UserMentions }
func mediaList(e *tweet.Entities) []tweet.Media  { return e.Media }
func lowCard(d fieldDef) fieldDef                { d.lowCardinality = true; return d }
func one(s string, yield func(string))           { yield(s) }
func boolText(b bool) string                     { return strconv.FormatBool(b) }

// nonNull yields a number unless the JSON had it as null or absent.
func nonNull(t *tweet.Tweet, name string, n int64, yield func(int64)) {
	if !t.NumberNull(name) {
		yield(n)
	}
}

func nonEmpty(s string, yield func(string)) {
	if s != "" {
		yield(s)
	}
}

// statusFields are the fields of one status, without the retweeted_status
// prefix.
var statusFields = []fieldDef{
	textField("created_at", func(t *tweet.Tweet, y func(string)) { one(t.CreatedAt, y) }),
	numField("id", func(t *tweet.Tweet, y func(int64)) { nonNull(t, "id", t.ID, y) }),
	textField("id_str", func(t *tweet.Tweet, y func(string)) { one(t.IDStr, y) }),
	textField("text", func(t *tweet.Tweet, y func(string)) { one(t.Text, y) }),
	textField("in_reply_to_screen_name", func(t *tweet.Tweet, y func(string)) { nonEmpty(t.InReplyToScreenName, y) }),
	numField("retweet_count", func(t *tweet.Tweet, y func(int64)) { nonNull(t, "retweet_count", t.RetweetCount, y) }),
	numField("favorite_count", func(t *tweet.Tweet, y func(int64)) { nonNull(t, "favorite_count", t.FavoriteCount, y) }),
	lowCard(textField("lang", func(t *tweet.Tweet, y func(string)) { nonEmpty(t.Lang, y) })),
	textField("timestamp_ms", func(t *tweet.Tweet, y func(string)) { nonEmpty(t.TimestampMs, y) }),

	userNum("id", func(u *tweet.User) int64 { return u.ID }),
	userText("id_str", func(u *tweet.User) string { return u.IDStr }),
	userText("name", func(u *tweet.User) string { return u.Name }),
	userText("screen_name", func(u *tweet.User) string { return u.ScreenName }),
	userText("location", func(u *tweet.User) string { return u.Location }),
	userText("description", func(u *tweet.User) string { return u.Description }),
	numField("user.followers_count", func(t *tweet.Tweet, y func(int64)) {
		if t.User != nil && !t.User.NumberNull("followers_count") {
			y(t.User.FollowersCount)
		}
	}),
	userNum("friends_count", func(u *tweet.User) int64 { return u.FriendsCount }),
	userText("profile_image_url", func(u *tweet.User) string { return u.ProfileImageURL }),
	lowCard(userText("lang", func(u *tweet.User) string { return u.Lang })),
	lowCard(fieldDef{name: "user.verified", kind: Boolean, strs: func(t *tweet.Tweet, y func(string)) {
		if t.User != nil {
			y(boolText(t.User.Verified))
		}
	}}),

	entityText("hashtags.text", hashtags, func(h *tweet.Hashtag) string { return h.Text }),
	entityText("symbols.text", symbols, func(h *tweet.Symbol) string { return h.Text }),
	entityText("urls.url", urls, func(u *tweet.URL) string { return u.URL }),
	entityText("urls.expanded_url", urls, func(u *tweet.URL) string { return u.ExpandedURL }),
	entityText("urls.display_url", urls, func(u *tweet.URL) string { return u.DisplayURL }),
	entityText("user_mentions.screen_name", mentions, func(m *tweet.Mention) string { return m.ScreenName }),
	entityText("user_mentions.name", mentions, func(m *tweet.Mention) string { return m.Name }),
	entityNum("user_mentions.id", mentions, func(m *tweet.Mention) int64 { return m.ID }),
	entityText("user_mentions.id_str", mentions, func(m *tweet.Mention) string { return m.IDStr }),
	numField("entities.media.id", func(t *tweet.Tweet, y func(int64)) {
		if t.Entities != nil {
			for i := range t.Entities.Media {
				y(t.Entities.Media[i].ID)
			}
		}
	}),
	entityText("media.id_str", mediaList, func(m *tweet.Media) string { return m.IDStr }),
	entityText("media.url", mediaList, func(m *tweet.Media) string { return m.URL }),
	entityText("media.display_url", mediaList, func(m *tweet.Media) string { return m.DisplayURL }),
	entityText("media.expanded_url", mediaList, func(m *tweet.Media) string { return m.ExpandedURL }),
	entityText("media.media_url", mediaList, func(m *tweet.Media) string { return m.MediaURL }),
	lowCard(entityText("media.type", mediaList, func(m *tweet.Media) string { return m.Type })),
}

// fields is every Field's definition, indexed by Field: the status fields,
// then the same under "retweeted_status.".
var fields = func() []fieldDef {
	all := append([]fieldDef(nil), statusFields...)
	for _, d := range statusFields {
		rt := d
		rt.name = "retweeted_status." + d.name
		if d.strs != nil {
			strs := d.strs
			rt.strs = func(t *tweet.Tweet, y func(string)) {
				if t.RetweetedStatus != nil {
					strs(t.RetweetedStatus, y)
				}
			}
		}
		if d.nums != nil {
			nums := d.nums
			rt.nums = func(t *tweet.Tweet, y func(int64)) {
				if t.RetweetedStatus != nil {
					nums(t.RetweetedStatus, y)
				}
			}
		}
		all = append(all, rt)
	}
	return all
}()

// fieldByName maps names to fields.
var fieldByName = func() map[string]Field {
	m := make(map[string]Field, len(fields))
	for i, d := range fields {
		m[d.name] = Field(i)
	}
	return m
}()

// NumFields is the number of Field values: fields are 0 … NumFields-1.
var NumFields = len(fields)

// LookupField returns the field with the given dotted name.
func LookupField(name string) (Field, bool) {
	f, ok := fieldByName[name]
	return f, ok
}

// Name returns the field's dotted path, e.g. "user.screen_name".
func (f Field) Name() string { return fields[f].name }

// String returns Name.
func (f Field) String() string { return f.Name() }

// Kind returns how the field is indexed.
func (f Field) Kind() Kind { return fields[f].kind }

// LowCardinality reports whether the field has only a few distinct values
// (lang, media type, flags), so that any one of its terms is shared by a
// large part of all tweets.
func (f Field) LowCardinality() bool { return fields[f].lowCardinality }

// textFields returns every Text field: what "_all" and "*" search.
func textFields() []Field {
	var out []Field
	for i, d := range fields {
		if d.kind == Text {
			out = append(out, Field(i))
		}
	}
	return out
}

// resolveFields returns the fields a field name in a query stands for:
// "_all" and "*" for every text field, a name with '*' or '?' for every
// field whose name matches, an object path ("user", "entities.media") for
// every field beneath it when objects is set, otherwise the field itself.
// Unknown names yield none.
func resolveFields(name string, objects bool) []Field {
	switch {
	case name == "_all" || name == "*":
		return textFields()
	case strings.ContainsAny(name, "*?"):
		var out []Field
		for i, d := range fields {
			if ok, _ := path.Match(name, d.name); ok {
				out = append(out, Field(i))
			}
		}
		return out
	}
	if f, ok := fieldByName[name]; ok {
		return []Field{f}
	}
	if objects {
		var out []Field
		for i, d := range fields {
			if strings.HasPrefix(d.name, name+".") {
				out = append(out, Field(i))
			}
		}
		return out
	}
	return nil
}
