// Package hub is BirdWatch's Communicator in Go: it routes the client's
// commands to the tweet store and the percolator, and pushes their
// answers, the live matches and the stats back through the Sente server.
//
// The hub owns the channel bundle of the original (query-results,
// missing-tweet-found, persistence, rt-persistence, tweet-count,
// perc-matches) and one goroutine per loop between them. The original's
// register-perc channel is a direct call here: a registration must take
// effect before the search's history queries are answered. Its query and
// tweet-missing channels are a pool of workers here, fair to each uid:
// one client's queued history requests do not delay another's, and a
// client over its share is answered at once with no tweets (see
// Config.HistoryPerUID), so that the event loop never waits for the store.
// A live query too costly to percolate is refused (percolator.ErrTooCostly).
// Run starts them all and returns when its context is done and every loop
// has stopped.
package hub

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/percolator"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/stats"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web"
)

// Event ids of the BirdWatch contract (docs/birdwatch.md §3).
const (
	IDPercolate       transit.Keyword = "cmd/percolate"
	IDQuery           transit.Keyword = "cmd/query"
	IDMissing         transit.Keyword = "cmd/missing"
	IDTweetNew        transit.Keyword = "tweet/new"
	IDPrevChunk       transit.Keyword = "tweet/prev-chunk"
	IDMissingTweet    transit.Keyword = "tweet/missing-tweet"
	IDUsersCount      transit.Keyword = "stats/users-count"
	IDTotalTweetCount transit.Keyword = "stats/total-tweet-count"
	// IDSearchTweet is not BirdWatch's: a client whose :cmd/percolate
	// carried a :tag gets its live tweets as [:search/tweet [tag tweet]]
	// instead of [:tweet/new tweet], so that it can tell the tweets of its
	// current search from those its previous one matched, which may
	// arrive later from another instance (the built-in page does).
	IDSearchTweet transit.Keyword = "search/tweet"
)

// Transport is what the hub needs of the Sente server (web.Server).
type Transport interface {
	Events() <-chan web.Message
	Send(uid string, ev protocol.Event) error
	// BroadcastLocal pushes to this instance's clients only: every
	// instance of a cluster sends the statistics to its own.
	BroadcastLocal(ev protocol.Event) error
	ConnectedUIDs() web.ConnectedUIDs
}

// TweetStore keeps the tweet history (store.Memory).
type TweetStore interface {
	Add(t *tweet.Tweet) error
	// Search returns the matches of q, newest first; an error (a query
	// over the store's budget) answers the request with no tweets.
	Search(q *query.Query, from, n int) ([]tweet.Stripped, error)
	Get(idStr string) (tweet.Stripped, bool)
	Count() int
}

// Percolator matches new tweets against each uid's live query
// (percolator.Percolator).
type Percolator interface {
	// Register makes q uid's live query; an error (a query too costly to
	// percolate) leaves the previous one, which the hub then removes.
	Register(uid string, q *query.Query) error
	Remove(uid string)
	Lookup(uid string) (*query.Query, bool)
	Match(t *tweet.Tweet) []string
}

// TweetSource produces new tweets until ctx is done (source.Synthetic,
// source.Replay).
type TweetSource interface {
	Run(ctx context.Context, emit func(*tweet.Tweet)) error
}

// Config configures a Hub. Transport, Store and Percolator are required;
// the other fields have the defaults documented on them.
type Config struct {
	Transport  Transport
	Store      TweetStore
	Percolator Percolator
	// Source feeds new tweets; nil means none (history only).
	Source TweetSource
	// Peers, when not nil, shares the live queries with the other
	// instances of a cluster (see live.go).
	Peers Peers
	// LiveGrace is how long a live query outlives the last connection of
	// its uid, so that a client that reconnects (BirdWatch's does not
	// search again) keeps it; zero means 30 s.
	LiveGrace time.Duration
	// UsersCountEvery is the period of :stats/users-count; zero means 2 s.
	UsersCountEvery time.Duration
	// TweetCountEvery is the period of :stats/total-tweet-count; zero
	// means 10 s.
	TweetCountEvery time.Duration
	// MaxChunk bounds n of a :cmd/query; zero means 500, what the client
	// asks for.
	MaxChunk int
	// HistoryWorkers is how many history requests (:cmd/query,
	// :cmd/missing) are served at once, each uid's one at a time and in
	// order; zero means runtime.GOMAXPROCS(0), as the store's searches
	// only use the CPU.
	HistoryWorkers int
	// HistoryPerUID bounds the history requests of one uid waiting or
	// being served; one more is answered at once with no tweets (an empty
	// chunk, or the all-null tweet of a :cmd/missing), and logged once a
	// minute per uid. Zero means DefaultHistoryPerUID.
	HistoryPerUID int
	// Buffer is the capacity of each channel of the bundle; zero means 256.
	Buffer int
	// Logger receives one line per notable event; the zero value logs
	// nothing.
	Logger zerolog.Logger
}

// DefaultHistoryPerUID is the default of Config.HistoryPerUID. BirdWatch's
// client keeps at most 4 history queries in flight per search (4 at once,
// then one per chunk received, 10 in all), and so does the built-in page
// (4 once the live query is confirmed, then one per reply); a user who
// starts a new search before the previous one's are answered adds 4 more:
// 16 admits four searches at once, and a few :cmd/missing (the built-in
// page asks once per tweet lacking its user, which this server's tweets
// never do).
const DefaultHistoryPerUID = 16

// channels is the channel bundle of the original Communicator. Each
// channel has exactly one receiving loop; see Hub.Run.
type channels struct {
	QueryResults      chan answer       // history workers → :tweet/prev-chunk
	MissingTweetFound chan answer       // history workers → :tweet/missing-tweet
	Persistence       chan *tweet.Tweet // new tweets → store
	RTPersistence     chan *tweet.Tweet // new tweets → percolator
	TweetCount        chan int          // store count → :stats/total-tweet-count
	PercMatches       chan match        // percolator → :tweet/new
}

// answer is the answer to a history request: a chunk ([]tweet.Stripped)
// or a missing tweet (tweet.Stripped).
type answer struct {
	uid   string
	data  any
	reply func(any) error // the client's callback, or nil: push the answer
}

// registration sets a uid's live query: q parsed from raw, the :query of
// its :cmd/percolate, and tag, its :tag, if any.
type registration struct {
	uid string
	q   *query.Query
	raw any
	tag any
}

type match struct {
	full    any            // the full raw tweet, converted once
	uids    []string       // who it matched
	queries []*query.Query // the live query of each uid it matched
}

// Hub routes BirdWatch traffic. It is created by New and run by Run, once.
type Hub struct {
	cfg     Config
	ch      channels
	log     zerolog.Logger
	history *historyPool
	// clientLog bounds the lines a client can trigger at will: each is
	// logged once a minute per uid (clientWarn).
	clientLog *onceLog

	self string // this instance's id (Peers.Instance); "" alone

	// mu guards live and members, and makes a live query's registration
	// and removal in the percolator one step with its entry in live.
	mu      sync.Mutex
	live    map[string]*liveQuery // by uid
	members []string              // the instances alive (Peers.Instances), as reown last saw them
	settled bool                  // Peers.Settled, as reown last saw it

	metrics *metrics // Collector's
}

// New checks cfg and returns a Hub ready to Run.
func New(cfg Config) (*Hub, error) {
	if cfg.Transport == nil || cfg.Store == nil || cfg.Percolator == nil {
		return nil, errors.New("hub: Transport, Store and Percolator are required")
	}
	if cfg.UsersCountEvery < 0 || cfg.TweetCountEvery < 0 || cfg.MaxChunk < 0 || cfg.Buffer < 0 ||
		cfg.HistoryWorkers < 0 || cfg.HistoryPerUID < 0 || cfg.LiveGrace < 0 {
		return nil, fmt.Errorf("hub: negative setting in config")
	}
	if cfg.UsersCountEvery == 0 {
		cfg.UsersCountEvery = 2 * time.Second
	}
	if cfg.TweetCountEvery == 0 {
		cfg.TweetCountEvery = 10 * time.Second
	}
	if cfg.LiveGrace == 0 {
		cfg.LiveGrace = 30 * time.Second
	}
	if cfg.MaxChunk == 0 {
		cfg.MaxChunk = 500
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = 256
	}
	if cfg.HistoryWorkers == 0 {
		cfg.HistoryWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.HistoryPerUID == 0 {
		cfg.HistoryPerUID = DefaultHistoryPerUID
	}
	b := cfg.Buffer
	h := &Hub{
		cfg:       cfg,
		log:       cfg.Logger,
		history:   newHistoryPool(cfg.HistoryWorkers, cfg.HistoryPerUID),
		clientLog: newOnceLog(logWindow),
		metrics:   newMetrics(),
		live:      make(map[string]*liveQuery),
		ch: channels{
			QueryResults:      make(chan answer, b),
			MissingTweetFound: make(chan answer, b),
			Persistence:       make(chan *tweet.Tweet, b),
			RTPersistence:     make(chan *tweet.Tweet, b),
			TweetCount:        make(chan int, 1),
			PercMatches:       make(chan match, b),
		},
	}
	if cfg.Peers != nil {
		h.self = cfg.Peers.Instance()
	}
	h.members = []string{h.self}
	return h, nil
}

// Run runs every loop of the hub until ctx is done or the transport's
// event channel closes, then waits for all of them. It returns the
// source's error, if the source failed.
func (h *Hub) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		srcErr error
	)
	loops := []func(context.Context){h.events, h.ingest, h.percolate, h.send, h.ticks}
	for range h.cfg.HistoryWorkers {
		loops = append(loops, func(ctx context.Context) { h.history.work(ctx, h.serve) })
	}
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel() // one loop ending (events closed) ends them all
			loop(ctx)
		}()
	}
	if h.cfg.Source != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.cfg.Source.Run(ctx, func(t *tweet.Tweet) { h.newTweet(ctx, t) })
			if err != nil && !errors.Is(err, context.Canceled) {
				srcErr = fmt.Errorf("hub: tweet source: %w", err)
				h.log.Error().Err(err).Msg("tweet source stopped")
				cancel()
			}
		}()
	}
	wg.Wait()
	return srcErr
}

// newTweet hands a new tweet to the store and to the percolator.
func (h *Hub) newTweet(ctx context.Context, t *tweet.Tweet) {
	for _, c := range []chan *tweet.Tweet{h.ch.Persistence, h.ch.RTPersistence} {
		select {
		case c <- t:
		case <-ctx.Done():
			return
		}
	}
}

// events routes client events: the Communicator's event handler.
func (h *Hub) events(ctx context.Context) {
	evs := h.cfg.Transport.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-evs:
			if !ok {
				return
			}
			h.route(m)
		}
	}
}

// command is the data of :cmd/percolate, :cmd/query and :cmd/missing.
type command struct {
	Query any    `transit:"query"`
	N     int    `transit:"n"`
	From  int    `transit:"from"`
	IDStr string `transit:"id_str"`
	UID   string `transit:"uid"`
	Tag   any    `transit:"tag"`
}

// unanswered answers an event that asked for a callback and gets no other
// answer, as Sente's default handler does, with {:error reason :event id}:
// the client's callback is not left to time out, and a server's shutdown
// does not wait for it.
func (h *Hub) unanswered(m web.Message, reason string) {
	if m.Reply == nil {
		return
	}
	if err := m.Reply(transit.NewMap(transit.Keyword("error"), reason, transit.Keyword("event"), m.Event.ID)); err != nil {
		h.log.Debug().Err(err).Str("uid", m.UID).Msg("reply not sent")
	}
}

func (h *Hub) route(m web.Message) {
	id := m.Event.ID
	switch id {
	case IDPercolate:
		cmd, q, ok := h.command(m)
		if !ok {
			return
		}
		if q == nil {
			h.metrics.liveUnparsed.Inc()
			h.unanswered(m, "query does not parse")
			return // a query that does not parse matches nothing: keep the old one
		}
		h.registerLive(m, registration{uid: m.UID, q: q, raw: cmd.Query, tag: cmd.Tag})
	case IDQuery:
		// A uid over its share is answered before any work is done on
		// its request.
		if !h.history.room(m.UID) {
			h.overLimit(m)
			return
		}
		cmd, q, ok := h.command(m)
		if !ok {
			return
		}
		n := min(max(cmd.N, 0), h.cfg.MaxChunk)
		h.metrics.historyQuery.Inc()
		h.history.add(request{uid: m.UID, q: q, from: max(cmd.From, 0), n: n, reply: m.Reply})
	case IDMissing:
		if !h.history.room(m.UID) {
			h.overLimit(m)
			return
		}
		var cmd command
		if err := transit.Assign(&cmd, m.Event.Data); err != nil || cmd.IDStr == "" {
			h.clientWarn(m.UID, "malformed :cmd/missing").Err(err).Msg("malformed :cmd/missing")
			h.unanswered(m, "malformed command")
			return
		}
		h.metrics.historyMissing.Inc()
		h.history.add(request{uid: m.UID, idStr: cmd.IDStr, reply: m.Reply})
	case protocol.IDWSPing, web.IDUIDPortOpen, web.IDUIDPortClose:
		// A live query outlives its uid's last connection by LiveGrace
		// (sweep).
	default:
		if e := h.log.Debug(); e.Enabled() {
			e.Str("uid", m.UID).Str("event", string(id)).Msg("unmatched event")
		}
		h.unanswered(m, "unmatched event")
	}
}

// command reads the data of a :cmd/percolate or :cmd/query and parses its
// query; q is nil when the query does not parse (logged). ok is false
// when the data cannot be read (logged and answered).
func (h *Hub) command(m web.Message) (cmd command, q *query.Query, ok bool) {
	id := m.Event.ID
	if err := transit.Assign(&cmd, m.Event.Data); err != nil {
		h.clientWarn(m.UID, "malformed command "+string(id)).Err(err).Str("event", string(id)).Msg("malformed command")
		h.unanswered(m, "malformed command")
		return cmd, nil, false
	}
	q, err := query.FromMap(cmd.Query)
	if err != nil {
		h.clientWarn(m.UID, "query does not parse "+string(id)).Err(err).Str("event", string(id)).Msg("query does not parse")
	}
	return cmd, q, true
}

// registerLive registers a :cmd/percolate's live query before the next
// event is routed, so that the history chunks of a new search are never
// followed by live tweets that matched the search before it. A client
// that asked for a callback learns when the registration is in place, or
// gets {:error …} when it is refused.
func (h *Hub) registerLive(m web.Message, r registration) {
	if err := h.registerLocal(r); err != nil {
		h.clientWarn(m.UID, "live query refused").Err(err).Msg("live query refused")
		reason := "live query refused"
		if errors.Is(err, percolator.ErrTooCostly) {
			reason = percolator.ErrTooCostly.Error()
			h.metrics.liveTooCostly.Inc()
		} else {
			h.metrics.liveOther.Inc()
		}
		h.unanswered(m, reason)
		return
	}
	h.metrics.liveRegistered.Inc()
	if m.Reply != nil {
		if err := m.Reply(true); err != nil {
			h.log.Debug().Err(err).Str("uid", m.UID).Msg("percolate reply not sent")
		}
	}
}

// overLimit answers a history request of a uid over its share at once,
// as a store without such tweets would: an empty chunk, or the all-null
// tweet of a :cmd/missing.
func (h *Hub) overLimit(m web.Message) {
	h.metrics.overCap.Inc()
	h.clientWarn(m.UID, "over the limit").
		Str("event", string(m.Event.ID)).Int("limit", h.cfg.HistoryPerUID).
		Msg("history requests over the per-uid limit answered with no tweets")
	if m.Event.ID == IDMissing {
		h.deliver(answer{uid: m.UID, data: tweet.Missing(), reply: m.Reply}, IDMissingTweet)
	} else {
		h.deliver(answer{uid: m.UID, data: []tweet.Stripped{}, reply: m.Reply}, IDPrevChunk)
	}
}

// clientWarn returns a warning about uid for a line that a client can
// trigger at will, of a kind that what names, with the uid and how many
// such lines were left out since the last; nil (logging nothing) when
// that kind was logged for uid within the last minute.
func (h *Hub) clientWarn(uid, what string) *zerolog.Event {
	ok, leftOut := h.clientLog.allow(uid+"\x00"+what, time.Now())
	if !ok {
		return nil
	}
	e := h.log.Warn().Str("uid", uid)
	if leftOut > 0 {
		e = e.Int("left_out", leftOut)
	}
	return e
}

// put sends v on c unless ctx ends first.
func put[T any](ctx context.Context, c chan<- T, v T) {
	select {
	case c <- v:
	case <-ctx.Done():
	}
}

// serve answers a history or missing-tweet request from the store (a
// history worker).
func (h *Hub) serve(ctx context.Context, r request) {
	if r.idStr != "" {
		t, ok := h.cfg.Store.Get(r.idStr)
		if !ok {
			t = tweet.Missing()
		}
		put(ctx, h.ch.MissingTweetFound, answer{uid: r.uid, data: t, reply: r.reply})
		return
	}
	var tweets []tweet.Stripped
	if r.q != nil {
		var err error
		start := time.Now()
		tweets, err = h.cfg.Store.Search(r.q, r.from, r.n)
		h.metrics.historyLatency.Observe(since(start))
		if err != nil {
			h.metrics.overBudget.Inc() // the store's only error (TweetStore.Search)
			h.clientWarn(r.uid, "history query not answered").Err(err).Msg("history query not answered")
		}
	}
	if tweets == nil {
		tweets = []tweet.Stripped{}
	}
	put(ctx, h.ch.QueryResults, answer{uid: r.uid, data: tweets, reply: r.reply})
}

// ingest stores new tweets.
func (h *Hub) ingest(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-h.ch.Persistence:
			if err := h.cfg.Store.Add(t); err != nil {
				h.log.Warn().Err(err).Str("id_str", t.IDStr).Msg("tweet not stored")
			} else {
				h.metrics.ingested.Inc()
			}
		}
	}
}

// current returns uid's live query and its tag, if percolated here.
func (h *Hub) current(uid string) (*query.Query, any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lq := h.live[uid]
	if lq == nil || !lq.owned {
		return nil, nil
	}
	// The percolator's, which is the first of equal queries registered.
	q, _ := h.cfg.Percolator.Lookup(uid)
	return q, lq.tag
}

// percolate matches new tweets against the live queries.
func (h *Hub) percolate(ctx context.Context) {
	p := h.cfg.Percolator
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-h.ch.RTPersistence:
			start := time.Now()
			uids := p.Match(t)
			h.metrics.percolation.Observe(since(start))
			if len(uids) == 0 {
				continue
			}
			full, err := t.Full()
			if err != nil {
				h.log.Warn().Err(err).Str("id_str", t.IDStr).Msg("tweet not convertible")
				continue
			}
			qs := make([]*query.Query, len(uids))
			for i, uid := range uids {
				qs[i], _ = p.Lookup(uid)
			}
			put(ctx, h.ch.PercMatches, match{full: full, uids: uids, queries: qs})
		}
	}
}

// push sends uid the event id with data; it does not block.
func (h *Hub) push(uid string, id transit.Keyword, data any) {
	if err := h.cfg.Transport.Send(uid, protocol.NewEvent(id, data)); err != nil {
		h.log.Debug().Err(err).Str("uid", uid).Str("event", string(id)).Msg("push not sent")
	}
}

// deliver sends an answer as the callback's reply, or as a push of the
// event id when the client asked for no callback; it does not block.
func (h *Hub) deliver(a answer, id transit.Keyword) {
	if a.reply == nil {
		h.push(a.uid, id, a.data)
	} else if err := a.reply(a.data); err != nil {
		h.log.Debug().Err(err).Str("uid", a.uid).Str("event", string(id)).Msg("reply not sent")
	}
}

// send pushes answers, matches and counts to the clients.
func (h *Hub) send(ctx context.Context) {
	tr := h.cfg.Transport
	push := h.push
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-h.ch.QueryResults:
			h.deliver(a, IDPrevChunk)
		case a := <-h.ch.MissingTweetFound:
			h.deliver(a, IDMissingTweet)
		case m := <-h.ch.PercMatches:
			for i, uid := range m.uids {
				// A uid that started another search since the match gets
				// nothing: the tweet matched its previous query.
				q, tag := h.current(uid)
				switch {
				case q != m.queries[i]:
				case tag != nil:
					push(uid, IDSearchTweet, []any{tag, m.full})
				default:
					push(uid, IDTweetNew, m.full)
				}
			}
		case n := <-h.ch.TweetCount:
			if err := tr.BroadcastLocal(protocol.NewEvent(IDTotalTweetCount, stats.FormatTotalCount(int64(n)))); err != nil {
				h.log.Debug().Err(err).Msg("tweet count not broadcast")
			}
		}
	}
}

// ticks drives the two stats: users every UsersCountEvery, the tweet count
// every TweetCountEvery (the first of each one period after start); and
// the live queries' upkeep: re-homing them when instances come and go
// (every second), dropping those of uids gone (every LiveGrace/4).
func (h *Hub) ticks(ctx context.Context) {
	users := time.NewTicker(h.cfg.UsersCountEvery)
	defer users.Stop()
	count := time.NewTicker(h.cfg.TweetCountEvery)
	defer count.Stop()
	members := time.NewTicker(time.Second)
	defer members.Stop()
	sweep := time.NewTicker(h.cfg.LiveGrace / 4)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-members.C:
			h.reown()
		case now := <-sweep.C:
			h.sweep(now)
		case <-users.C:
			n := len(h.cfg.Transport.ConnectedUIDs().Any)
			if err := h.cfg.Transport.BroadcastLocal(protocol.NewEvent(IDUsersCount, n)); err != nil {
				h.log.Debug().Err(err).Msg("users count not broadcast")
			}
		case <-count.C:
			select {
			case h.ch.TweetCount <- h.cfg.Store.Count():
			default: // the previous count is still queued
			}
		}
	}
}
