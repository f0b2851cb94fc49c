package source

import (
	"cmp"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/tweet"
)

// DefaultJetstreamURL is Bluesky's public Jetstream, asked for posts only.
const DefaultJetstreamURL = "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"

// Defaults of JetstreamConfig.
const (
	// DefaultJetstreamOverlap is how far before the last event seen a
	// resumed connection starts; the repeated posts are dropped by id.
	DefaultJetstreamOverlap = time.Second
	// DefaultHandleCache is how many handles (and display names) the
	// source remembers, the least recently used forgotten first.
	DefaultHandleCache = 100_000
	// DefaultJetstreamIdle is how long a connection may stay silent before
	// it is taken for dead and replaced (Jetstream's posts come several
	// a second).
	DefaultJetstreamIdle = time.Minute
	// DefaultJetstreamMinBackoff and DefaultJetstreamMaxBackoff bound the
	// wait between two connection attempts.
	DefaultJetstreamMinBackoff = 250 * time.Millisecond
	DefaultJetstreamMaxBackoff = 30 * time.Second
	// jetstreamMaxMessage is the largest event read (Jetstream's events
	// are a few kilobytes); a larger one ends the connection.
	jetstreamMaxMessage = 1 << 20
	// jetstreamRecentIDs is how many ids of emitted posts are remembered
	// to drop the ones an overlapping resume repeats.
	jetstreamRecentIDs = 1 << 14
	// maxTimeUS bounds time_us (the year 2255), so that an id, time_us
	// shifted by 10 bits, is a positive int64.
	maxTimeUS = 1 << 53
)

// JetstreamConfig configures a Jetstream source.
type JetstreamConfig struct {
	// URL is the Jetstream subscribe endpoint, ws:// or wss://, with its
	// query (wantedCollections, …); "" means DefaultJetstreamURL. Run adds
	// a cursor parameter when it resumes.
	URL string
	// Overlap is how far before the last event seen a resumed connection
	// starts; 0 means DefaultJetstreamOverlap.
	Overlap time.Duration
	// HandleCache bounds the handles remembered; 0 means
	// DefaultHandleCache.
	HandleCache int
	// Idle is how long a connection may stay silent; 0 means
	// DefaultJetstreamIdle.
	Idle time.Duration
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts; 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Dialer dials the WebSocket; nil means websocket.DefaultDialer.
	Dialer *websocket.Dialer
	// Logger receives the outages (once each, and once when the stream
	// returns) and a warning for the first malformed event of each Run;
	// the next ones are logged at debug. The zero value logs nothing.
	Logger zerolog.Logger
}

// Jetstream emits the posts of Bluesky's firehose, read as JSON over a
// WebSocket from a Jetstream server, as Twitter v1.1 statuses: the id
// from time_us (increasing, 19 digits), created_at from the record's
// createdAt, lang the first of langs, entities from the facets (links,
// mentions, tags, at Twitter's code-point indices). Identity events fill a bounded cache of
// handles, profile records (when the URL asks for app.bsky.actor.profile)
// one of display names; a post whose author is not in it is shown under a
// short form of its DID. Deletes, updates, account events and other
// collections are counted and skipped.
//
// Flow control is backpressure: Run reads one event, emits it, and only
// then reads the next, so a slow emit leaves the events in the socket's
// buffers and then in Jetstream's, never in this process. A consumer that
// falls too far behind is disconnected by Jetstream; Run then resumes.
//
// Run reconnects with backoff after a failure (logged once per outage)
// and resumes from the time_us of the last event it handled, less
// Overlap, dropping the posts it already emitted, so that nothing is lost
// or repeated across a reconnect while Jetstream still holds the events
// (about a day).
type Jetstream struct {
	cfg JetstreamConfig
}

// NewJetstream validates cfg and returns the source. Jetstream is first
// contacted by Run.
func NewJetstream(cfg JetstreamConfig) (*Jetstream, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultJetstreamURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("source: jetstream url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
		return nil, fmt.Errorf("source: jetstream url %q: want ws:// or wss://host/…", cfg.URL)
	}
	if cfg.Overlap < 0 || cfg.HandleCache < 0 || cfg.Idle < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return nil, errors.New("source: negative jetstream setting")
	}
	cfg.Overlap = cmp.Or(cfg.Overlap, DefaultJetstreamOverlap)
	cfg.HandleCache = cmp.Or(cfg.HandleCache, DefaultHandleCache)
	cfg.Idle = cmp.Or(cfg.Idle, DefaultJetstreamIdle)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultJetstreamMinBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultJetstreamMaxBackoff), cfg.MinBackoff)
	if cfg.Dialer == nil {
		cfg.Dialer = websocket.DefaultDialer
	}
	return &Jetstream{cfg: cfg}, nil
}

// JetstreamStats counts what one Run did.
type JetstreamStats struct {
	Emitted    int // posts passed to emit
	Duplicates int // posts a resume repeated, dropped
	Deleted    int // post deletes (the store keeps what it has)
	Skipped    int // updates, account events, other collections, posts without text
	Identities int // identity events (handles learned)
	Malformed  int // events that are not valid JSON or lack time_us or kind
	Connects   int // connections established
}

// Run emits the posts of the stream until ctx is done; then it returns
// nil. It returns no other error: outages are waited out.
func (j *Jetstream) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	_, err := j.RunStats(ctx, emit)
	return err
}

// RunStats is Run, and also reports what it did.
func (j *Jetstream) RunStats(ctx context.Context, emit func(*tweet.Tweet)) (JetstreamStats, error) {
	r := &jetstreamRun{j: j, emit: emit, profiles: newProfileCache(j.cfg.HandleCache), recent: newRecentIDs(jetstreamRecentIDs),
		log: j.cfg.Logger.With().Str("jetstream", redactQuery(j.cfg.URL)).Logger()}
	backoff := j.cfg.MinBackoff
	for ctx.Err() == nil {
		err := r.connection(ctx)
		if ctx.Err() != nil {
			break
		}
		if r.delivered { // the connection worked: start the backoff anew
			backoff = j.cfg.MinBackoff
		}
		if !r.down {
			r.down = true
			r.log.Warn().Err(err).Msg("jetstream unreachable, resuming from the last event seen when it returns")
		} else {
			r.log.Debug().Err(err).Msg("jetstream still unreachable")
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, j.cfg.MaxBackoff)
	}
	return r.st, nil
}

// jetstreamRun is the state of one Run.
type jetstreamRun struct {
	j        *Jetstream
	emit     func(*tweet.Tweet)
	log      zerolog.Logger
	st       JetstreamStats
	profiles *profileCache
	recent   *recentIDs
	cursor   int64 // time_us of the last event handled; 0 before the first
	down     bool  // an outage was logged and has not ended
	// delivered is whether the last connection read an event.
	delivered bool
}

// connection dials, reads and handles events until the connection fails
// or ctx is done, and returns why it ended.
func (r *jetstreamRun) connection(ctx context.Context) error {
	r.delivered = false
	target, err := r.url()
	if err != nil {
		return err
	}
	conn, resp, err := r.j.cfg.Dialer.DialContext(ctx, target, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial: %w (HTTP %s)", err, resp.Status)
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // unblocks the read
	defer stop()
	conn.SetReadLimit(jetstreamMaxMessage)
	r.st.Connects++
	if r.down {
		r.down = false
		r.log.Info().Int64("cursor", r.cursor).Msg("jetstream reachable again, resuming")
	}
	for {
		if err := conn.SetReadDeadline(time.Now().Add(r.j.cfg.Idle)); err != nil {
			return fmt.Errorf("read deadline: %w", err)
		}
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		r.delivered = true
		if typ != websocket.TextMessage {
			r.malformed(errors.New("binary message (compression is not supported)"), len(data))
			continue
		}
		r.event(data)
	}
}

// url is the configured URL, with the resume cursor once there is one.
func (r *jetstreamRun) url() (string, error) {
	if r.cursor == 0 {
		return r.j.cfg.URL, nil
	}
	u, err := url.Parse(r.j.cfg.URL)
	if err != nil {
		return "", fmt.Errorf("jetstream url: %w", err)
	}
	q := u.Query()
	q.Set("cursor", strconv.FormatInt(max(r.cursor-r.j.cfg.Overlap.Microseconds(), 1), 10))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// malformed counts and logs an event that could not be read.
func (r *jetstreamRun) malformed(err error, n int) {
	r.st.Malformed++
	ev := r.log.Debug()
	if r.st.Malformed == 1 {
		ev = r.log.Warn().Str("later", "logged at debug")
	}
	ev.Err(err).Int("bytes", n).Msg("malformed jetstream event skipped")
}

// event handles one event.
func (r *jetstreamRun) event(data []byte) {
	var ev jetstreamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		r.malformed(err, len(data))
		return
	}
	if ev.TimeUS <= 0 || ev.TimeUS >= maxTimeUS || ev.Kind == "" {
		r.malformed(errors.New("no time_us (or out of range) or no kind"), len(data))
		return
	}
	// The cursor moves on once the event is handled; a post emitted and
	// then repeated by a resume is found in recent.
	defer func() { r.cursor = max(r.cursor, ev.TimeUS) }()
	switch ev.Kind {
	case "identity":
		if ev.Identity != nil && ev.Identity.Handle != "" && ev.DID != "" {
			r.st.Identities++
			r.profiles.setHandle(ev.DID, ev.Identity.Handle)
		} else {
			r.st.Skipped++
		}
		return
	case "commit":
	default:
		r.st.Skipped++
		return
	}
	c := ev.Commit
	if c == nil {
		r.malformed(errors.New("commit event without commit"), len(data))
		return
	}
	switch {
	case c.Collection == "app.bsky.actor.profile" && (c.Operation == "create" || c.Operation == "update"):
		var p struct {
			DisplayName string `json:"displayName"`
		}
		if json.Unmarshal(c.Record, &p) == nil && p.DisplayName != "" {
			r.profiles.setName(ev.DID, p.DisplayName)
		}
		r.st.Skipped++
	case c.Collection != "app.bsky.feed.post":
		r.st.Skipped++
	case c.Operation == "delete":
		r.st.Deleted++
	case c.Operation != "create":
		r.st.Skipped++
	default:
		t, err := postTweet(&ev, r.profiles.lookup)
		if errors.Is(err, errNoText) {
			r.st.Skipped++
			return
		}
		if err != nil {
			r.malformed(err, len(data))
			return
		}
		if !r.recent.add(t.ID) {
			r.st.Duplicates++
			return
		}
		r.emit(t)
		r.st.Emitted++
	}
}

// jetstreamEvent is one Jetstream event, as much of it as is read.
type jetstreamEvent struct {
	DID      string           `json:"did"`
	TimeUS   int64            `json:"time_us"`
	Kind     string           `json:"kind"` // commit, identity, account
	Commit   *jetstreamCommit `json:"commit"`
	Identity *struct {
		Handle string `json:"handle"`
	} `json:"identity"`
}

type jetstreamCommit struct {
	Operation  string          `json:"operation"` // create, update, delete
	Collection string          `json:"collection"`
	RKey       string          `json:"rkey"`
	Record     json.RawMessage `json:"record"`
}

// postRecord is an app.bsky.feed.post record.
type postRecord struct {
	Text      string   `json:"text"`
	Langs     []string `json:"langs"`
	CreatedAt string   `json:"createdAt"`
	Facets    []struct {
		Index struct {
			ByteStart int `json:"byteStart"`
			ByteEnd   int `json:"byteEnd"`
		} `json:"index"`
		Features []struct {
			Type string `json:"$type"`
			URI  string `json:"uri"` // #link
			DID  string `json:"did"` // #mention
			Tag  string `json:"tag"` // #tag
		} `json:"features"`
	} `json:"facets"`
	Reply *struct {
		Parent struct {
			URI string `json:"uri"` // at://DID/app.bsky.feed.post/RKEY
		} `json:"parent"`
	} `json:"reply"`
}

var errNoText = errors.New("post without text")

// postTweet maps a Jetstream post (a commit creating an
// app.bsky.feed.post record) to a tweet:
//
//   - id: time_us shifted left by 10 bits, plus 10 bits of a hash of DID
//     and rkey: positive, 19 digits like a snowflake, increasing with the
//     time Jetstream saw the post, and the same when a resume repeats it;
//   - created_at: the record's createdAt in Twitter's layout (time_us
//     when it is missing or invalid); timestamp_ms: time_us in ms;
//   - lang: the primary subtag of the first of langs, lowercased ("en"
//     for "en-US"), "und" without;
//   - user: screen_name the handle profile gives for the DID, else a
//     short form of the DID ("plc:abcdefgh"); name the display name,
//     else the screen_name; id a hash of the DID;
//   - entities: links (http and https only), mentions and tags from the
//     facets, their UTF-8 byte ranges turned into Twitter's code-point
//     indices; facets out of range or not on rune boundaries are dropped;
//   - in_reply_to_screen_name: the parent's author, when profile knows
//     its handle.
//
// Reposts are not in app.bsky.feed.post, so there are none.
func postTweet(ev *jetstreamEvent, profile func(did string) (handle, name string)) (*tweet.Tweet, error) {
	var rec postRecord
	if err := json.Unmarshal(ev.Commit.Record, &rec); err != nil {
		return nil, fmt.Errorf("post record: %w", err)
	}
	if strings.TrimSpace(rec.Text) == "" {
		return nil, errNoText
	}
	if ev.DID == "" {
		return nil, errors.New("post without did")
	}
	id := ev.TimeUS<<10 | int64(hash64(ev.DID+"/"+ev.Commit.RKey)&1023)
	seen := time.UnixMicro(ev.TimeUS).UTC()
	created, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
	if err != nil {
		created = seen
	}
	lang := "und"
	if len(rec.Langs) > 0 {
		// The primary subtag, as Twitter's codes mostly are ("en-US" as
		// "en"), so that a search for lang:en finds it.
		if l, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(rec.Langs[0])), "-"); l != "" {
			lang = l
		}
	}
	handle, name := profile(ev.DID)
	if handle == "" {
		handle = shortDID(ev.DID)
	}
	if name == "" {
		name = handle
	}
	uid := int64(hash64(ev.DID) >> 1)
	t := &tweet.Tweet{
		CreatedAt: created.UTC().Format(tweet.TimeLayout),
		ID:        id,
		IDStr:     strconv.FormatInt(id, 10),
		Text:      rec.Text,
		User: &tweet.User{
			ID: uid, IDStr: strconv.FormatInt(uid, 10),
			Name: name, ScreenName: handle,
			ProfileImageURL: fmt.Sprintf(DefaultAvatarURL, uid%maxAvatar),
			Lang:            lang,
		},
		Entities:    facetEntities(&rec, profile),
		Lang:        lang,
		TimestampMs: strconv.FormatInt(seen.UnixMilli(), 10),
	}
	if rec.Reply != nil {
		if did, ok := atDID(rec.Reply.Parent.URI); ok {
			t.InReplyToScreenName, _ = profile(did)
		}
	}
	return t, nil
}

// facetEntities turns the record's facets into entities.
func facetEntities(rec *postRecord, profile func(string) (string, string)) *tweet.Entities {
	e := &tweet.Entities{Hashtags: []tweet.Hashtag{}, Symbols: []tweet.Symbol{}, URLs: []tweet.URL{}, UserMentions: []tweet.Mention{}}
	text := rec.Text
	for _, f := range rec.Facets {
		b0, b1 := f.Index.ByteStart, f.Index.ByteEnd
		if b0 < 0 || b1 <= b0 || b1 > len(text) || !runeStart(text, b0) || !runeStart(text, b1) {
			continue
		}
		ix := tweet.Indices{utf8.RuneCountInString(text[:b0]), 0}
		ix[1] = ix[0] + utf8.RuneCountInString(text[b0:b1])
		span := text[b0:b1]
		for _, ft := range f.Features {
			switch ft.Type {
			case "app.bsky.richtext.facet#link":
				if !webURL(ft.URI) {
					continue
				}
				e.URLs = append(e.URLs, tweet.URL{URL: ft.URI, ExpandedURL: ft.URI, DisplayURL: span, Indices: ix})
			case "app.bsky.richtext.facet#mention":
				sn := strings.TrimPrefix(span, "@")
				if h, _ := profile(ft.DID); h != "" {
					sn = h
				}
				_, name := profile(ft.DID)
				uid := int64(hash64(ft.DID) >> 1)
				e.UserMentions = append(e.UserMentions, tweet.Mention{ScreenName: sn, Name: cmp.Or(name, sn), ID: uid, IDStr: strconv.FormatInt(uid, 10), Indices: ix})
			case "app.bsky.richtext.facet#tag":
				tag := strings.TrimPrefix(cmp.Or(ft.Tag, span), "#")
				if tag != "" {
					e.Hashtags = append(e.Hashtags, tweet.Hashtag{Text: tag, Indices: ix})
				}
			}
		}
	}
	return e
}

// runeStart reports whether byte offset i of s starts a rune (or is its end).
func runeStart(s string, i int) bool { return i == len(s) || utf8.RuneStart(s[i]) }

// webURL reports whether s is an absolute http or https URL.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " \t\r\n")
}

// atDID returns the DID of an at:// URI.
func atDID(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "at://")
	if !ok {
		return "", false
	}
	did, _, _ := strings.Cut(rest, "/")
	return did, strings.HasPrefix(did, "did:")
}

// shortDID is the screen name of an author whose handle is unknown: the
// DID's method and the first 8 characters of its identifier.
func shortDID(did string) string {
	s := strings.TrimPrefix(did, "did:")
	method, ident, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	if len(ident) > 8 {
		ident = ident[:8]
	}
	return method + ":" + ident
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// redactQuery is u without its query, for logs.
func redactQuery(u string) string {
	s, _, _ := strings.Cut(u, "?")
	return s
}

// profileCache maps DIDs to handles and display names, forgetting the
// least recently used beyond its capacity.
type profileCache struct {
	cap   int
	order *list.List // of *profileEntry, most recent first
	byDID map[string]*list.Element
}

type profileEntry struct {
	did, handle, name string
}

func newProfileCache(n int) *profileCache {
	return &profileCache{cap: n, order: list.New(), byDID: make(map[string]*list.Element)}
}

func (c *profileCache) entry(did string) *profileEntry {
	if el, ok := c.byDID[did]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*profileEntry)
	}
	p := &profileEntry{did: did}
	c.byDID[did] = c.order.PushFront(p)
	for c.order.Len() > c.cap {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byDID, old.Value.(*profileEntry).did)
	}
	return p
}

func (c *profileCache) setHandle(did, handle string) { c.entry(did).handle = handle }
func (c *profileCache) setName(did, name string)     { c.entry(did).name = name }

// lookup returns what is known of did, marking it recently used.
func (c *profileCache) lookup(did string) (handle, name string) {
	el, ok := c.byDID[did]
	if !ok {
		return "", ""
	}
	c.order.MoveToFront(el)
	p := el.Value.(*profileEntry)
	return p.handle, p.name
}

// recentIDs remembers the last n ids added.
type recentIDs struct {
	ring []int64
	next int
	set  map[int64]struct{}
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{ring: make([]int64, 0, n), set: make(map[int64]struct{}, n)}
}

// add remembers id and reports whether it was new.
func (r *recentIDs) add(id int64) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[id] = struct{}{}
	return true
}
