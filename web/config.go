package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// Config configures a Server. The zero value is a working and safe
// configuration (random uid per client, CSRF tokens required on POSTs,
// same-origin requests only, 30/100 ms batching, 20 s polls, 5 s grace,
// nothing logged); a 1.14+ client also needs CSRFToken. New
// copies it: the caller may reuse or change its Config afterwards. A
// duration or size left at zero takes the default stated on the field;
// negative values, and values outside the stated range, make New fail.
type Config struct {
	// UserID returns the user id (uid) of client clientID making request
	// r; pushes are addressed by uid, and one uid may have many clients
	// (tabs). It is called the first time the server sees a client-id (a
	// WebSocket upgrade, an Ajax poll or an Ajax POST); the result is bound
	// to the client-id for as long as the client has a connection, and
	// DisconnectGrace after that, so a function returning a fresh random
	// id per request still gives each client one stable uid. A POST
	// without client-id (Sente 1.3–1.6) is the event of the client-id and
	// uid its client token names (TokenSecret). An empty result is allowed
	// (no uid: the client gets pushes only through Broadcast). Nil means a
	// random id per client-id. It must be safe for concurrent use.
	UserID func(r *http.Request, clientID string) string

	// CSRFToken returns the reference CSRF token for r, typically from the
	// session: the page token Sente 1.14+ clients send on every request,
	// compared in constant time. Clients of Sente 1.3–1.13 get a client
	// token in their handshake instead (see TokenSecret), bound to this
	// reference token. Nil means there is no page token: a request that
	// presents one is refused (unless CSRFCheck is CSRFOff), so only
	// 1.3–1.13 clients can be served; set it to serve 1.14+ clients. It
	// must be safe for concurrent use.
	CSRFToken func(r *http.Request) string
	// TokenSecret signs the client tokens that identify Sente 1.3–1.13
	// clients (token.go): their handshake carries a token of their own in
	// place of the page's CSRF token, naming their client-id and uid, and
	// their POSTs echo it (1.3–1.6 POSTs carry no client-id, so it is what
	// routes their events to their uid). Every server that may receive a
	// client's POST must have the same secret. Nil means the Cluster's
	// (Cluster.TokenSecret): with a RedisCluster, the secret its servers
	// share; with the default MemoryCluster, a random one per Server
	// (tokens die with it: clients get new ones in the handshake that
	// follows a restart). At least 16 bytes.
	TokenSecret []byte
	// TokenMaxAge is how long a client token is accepted; an Ajax client
	// whose token is past half of it gets a new handshake (and token) on
	// its next poll. Zero means 24 h; at least 1 min, at most 30 days.
	TokenMaxAge time.Duration

	// CSRFCheck says which requests must carry a valid token. The zero
	// value, CSRFDefault, is Sente's rule adapted to clients of every
	// generation: every POST needs one (the page token, or a client token
	// for 1.3–1.13), every token presented must be valid, and a WebSocket
	// or poll without token is served only as a 1.3–1.13 client (which
	// sends none there), refused when the deployment serves none
	// (Clients). CSRFRequired refuses every request without the page
	// token; CSRFOff opens everything to cross-site requests but what the
	// origin check stops.
	CSRFCheck CSRFCheck

	// AllowedOrigins lists the origins ("https://example.com", scheme,
	// host and port as browsers send them) allowed to connect besides the
	// server's own; a request whose Origin header, or failing that its
	// Referer, names another origin is refused with 403 "Unauthorized
	// origin". Empty, the default, allows the same origin only: the host
	// of the Origin (or Referer) must be the request's Host. "*" allows
	// every origin, which opens WebSockets and polls to any site the
	// user visits, with the user's cookies. A request with neither header
	// (not from a browser page) is allowed.
	AllowedOrigins []string

	// Authorize, when not nil, decides whether a request may go on (Sente's
	// :authorized?-fn): it is called for every WebSocket upgrade, Ajax
	// poll and Ajax POST that passed the CSRF and origin checks, with the
	// request's client-id (for a 1.3–1.6 POST, the one its client token
	// names). A nil error lets it through; an error refuses it, with the
	// status and text of a *Refusal, or else 401 "Unauthorized request".
	// Refuse the reconnects of a user ended by Server.Disconnect here. It
	// must be safe for concurrent use.
	Authorize func(r *http.Request, clientID string) error

	// HandshakeData returns the optional handshake-data (Sente 1.4+) sent
	// to a new connection of uid. Nil sends none. It must be safe for
	// concurrent use.
	HandshakeData func(r *http.Request, uid string) any

	// Clients is the set of client generations this deployment serves,
	// when it knows them (it serves its own bundles): the server then
	// answers a client that has not spoken yet in those generations only.
	// A WebSocket's handshake must go out before its client says anything,
	// and its URL tells little (doc.go, "Client generations"): with Clients
	// set to, say, protocol.SetOf(protocol.GenFlexi, protocol.GenV2) (a
	// Sente 1.3 bundle and a 1.21+ one) and CSRFToken set, each gets exactly
	// one handshake in its own dialect and no frame it cannot read. The
	// zero value serves every generation, at the cost of a few unreadable
	// frames in old clients' consoles until they speak.
	Clients protocol.GenerationSet

	// Generations narrows, per request, the client generations a
	// WebSocket upgrade request may come from, for deployments that know
	// more than the URL and Clients tell (a path, a user :params key, a
	// cookie; docs/protocol.md §11.2 option 1). The result is
	// intersected with what the URL and Clients tell; an empty result is
	// ignored. Nil narrows nothing. It must be safe for concurrent use.
	Generations func(r *http.Request) protocol.GenerationSet

	// Packer chooses the packer format the server speaks (Sente's
	// :packer): PackerTransit (the zero value) or PackerEDN for every
	// client, or PackerAuto to answer each client in the format of its
	// own frames. With a fixed format, a frame in the other format is
	// dropped (WebSocket) or answered 400 (Ajax POST). With PackerAuto a
	// client (its client-id, for every transport, or a POST without
	// client-id alone) is answered in Transit until its first frame, whose
	// format then sticks: handshakes, and pushes to a WebSocket that has
	// not spoken yet, are Transit, and later frames in the other format are
	// refused as above. Sente's query parameters never tell the packer.
	Packer Packer

	// WSBatchWindow is how long pushes to a uid are collected before they
	// go to its WebSockets as one batch (Sente's :send-buf-ms-ws). Zero
	// means 30 ms; at most 10 s.
	WSBatchWindow time.Duration
	// AjaxBatchWindow is the same for Ajax clients (:send-buf-ms-ajax).
	// Zero means 100 ms; at most 10 s.
	AjaxBatchWindow time.Duration

	// PingInterval is how often a WebSocket gets an RFC 6455 ping frame,
	// which keeps proxies from closing idle sockets and finds dead peers.
	// Sente pings (:chsk/ws-ping) are never sent for keep-alive. Zero
	// means 25 s; at least 10 ms.
	PingInterval time.Duration
	// PongTimeout is how long past PingInterval a WebSocket may stay
	// silent (no frame, no pong) before it is closed as dead: at once
	// while a reader waits, at the next ping while it is parked (up to
	// one PingInterval later; see docs/design.md §5.1). Zero means 10 s.
	PongTimeout time.Duration
	// WriteTimeout bounds one write to a WebSocket; a client that takes
	// longer is disconnected. Zero means 10 s.
	WriteTimeout time.Duration

	// PollTimeout is how long an Ajax long poll is held without data
	// before it is answered "no data": :chsk/timeout for 1.9+ clients, an
	// empty batch "-j[]" for 1.3–1.8 clients, whose poll loop dies on
	// :chsk/timeout. Zero means 20 s; at most 55 s (1.9+ clients give up
	// at 60 s).
	PollTimeout time.Duration
	// CallbackTimeout is how long an Ajax POST that asked for a callback
	// waits for the application's reply before it is answered
	// :chsk/timeout. Zero means 20 s; at most 10 min.
	CallbackTimeout time.Duration
	// DetectTimeout is how long a WebSocket whose client generation the
	// URL did not tell, and whose client has not spoken, holds pushes when
	// writing them in every candidate encoding would deliver them twice
	// (doc.go, "Client generations"). Zero means 2 s; at most 1 min.
	DetectTimeout time.Duration
	// DisconnectGrace is how long a uid stays connected after its last
	// WebSocket closed, and how long an Ajax client may go without polling
	// before it is dropped; :chsk/uidport-close is delivered when a uid
	// ends it with no connection. Zero means 5 s; at most 10 min.
	DisconnectGrace time.Duration

	// ReadLimit is the largest WebSocket message and the largest Ajax POST
	// body accepted, in bytes. A larger WebSocket message closes the
	// socket with status 1009; a larger POST gets 400. Zero means 64 KiB.
	ReadLimit int64
	// SendQueueLen is how many frames may wait for one connection (pushes
	// and replies for a WebSocket, pushes between two polls for an Ajax
	// client). A connection that falls further behind is disconnected.
	// Zero means 256.
	SendQueueLen int
	// SendQueueBytes is the same limit in bytes of frames, counting those
	// a WebSocket is writing: it bounds what a client that stopped reading
	// holds. A batch larger than this is sent as several frames of events
	// that each fit (a client that cannot take them all in time is
	// disconnected); a single event larger than this is still sent, alone,
	// to a connection with nothing queued. Zero means 1 MiB.
	SendQueueBytes int
	// EventBuffer is the capacity of the Events channel. When it is full,
	// connections wait (their clients' frames are not read) until the
	// application catches up. Zero means 256.
	EventBuffer int

	// Broker and Cluster are the Server's backplane (doc.go,
	// "Backplane"). The Broker carries pushes from Send and Broadcast to
	// the connections of every server that shares it. Nil means a
	// MemoryBroker owned by the Server (closed by Close).
	Broker Broker
	// Cluster shares this server's clients with the other servers of a
	// cluster (presence, client-ids, the token secret, Ajax mailboxes), so
	// that they serve one set of clients behind a load balancer without
	// sticky sessions; Broker must then connect them too (RedisBroker and
	// RedisCluster go together). Nil means a MemoryCluster of the Server
	// alone. A Broker or Cluster given here is not closed by the Server.
	Cluster Cluster

	// Logger receives the server's log entries. Its zero value logs
	// nothing. Each connection logs with uid and client_id fields.
	Logger zerolog.Logger

	// MetricsEventIDs are the client event ids counted by id in the
	// metrics (sente_events_received_total, Server.Collector); the
	// events of every other id are counted as "other", so that a client
	// cannot make label values. Nil counts every event as "other".
	MetricsEventIDs []transit.Keyword
}

// CSRFCheck says which requests must carry a valid CSRF token.
type CSRFCheck uint8

const (
	// CSRFDefault, the zero value: every POST carries a valid token (a
	// 1.14+ client's page token, a 1.3–1.13 client's client token; POST
	// field "csrf-token", header X-CSRF-Token or X-XSRF-Token), every
	// token a request presents is valid, and a WebSocket or poll without
	// token (what 1.3–1.13 clients send) is served only as a 1.3–1.13
	// client: refused with 403 when Clients excludes them, or when its
	// query tells a 1.14+ client.
	CSRFDefault CSRFCheck = iota
	// CSRFRequired refuses every request without a valid page token: only
	// Sente 1.14+ clients can connect.
	CSRFRequired
	// CSRFOff checks no page token, for applications that check it
	// themselves (or rely on the origin check). 1.3–1.13 clients still get
	// client tokens, which a POST without client-id needs to be
	// identified, and a client token presented is still verified.
	CSRFOff
)

// Packer is the packer choice of a Server (Config.Packer): which
// protocol.Format it writes frames in.
type Packer uint8

const (
	// PackerTransit answers every client in Transit JSON (Sente's
	// Transit packer, or the flexi packer's 'j' bodies for 1.3–1.8).
	PackerTransit Packer = iota
	// PackerEDN answers every client in EDN, Sente's default packer ('e'
	// bodies for 1.3–1.8 flexi clients).
	PackerEDN
	// PackerAuto answers each client in the format of its first frame,
	// Transit until it has sent one (protocol.ClientFrame.Format).
	PackerAuto
)

// String returns "transit", "edn" or "auto".
func (p Packer) String() string {
	switch p {
	case PackerTransit:
		return "transit"
	case PackerEDN:
		return "edn"
	case PackerAuto:
		return "auto"
	}
	return "unknown packer"
}

// fixed returns the format p imposes on every client; ok is false for
// PackerAuto.
func (p Packer) fixed() (f protocol.Format, ok bool) {
	switch p {
	case PackerEDN:
		return protocol.FormatEDN, true
	case PackerAuto:
		return protocol.FormatTransit, false
	}
	return protocol.FormatTransit, true
}

// defaultFormat is the format of frames to a client whose format is not
// known: the fixed format, Transit for PackerAuto.
func (p Packer) defaultFormat() protocol.Format {
	f, _ := p.fixed()
	return f
}

// accepts reports whether a frame in format f is served.
func (p Packer) accepts(f protocol.Format) bool {
	fixed, ok := p.fixed()
	return !ok || f == fixed
}

// Defaults of Config, see the fields.
const (
	defaultWSBatchWindow   = 30 * time.Millisecond
	defaultAjaxBatchWindow = 100 * time.Millisecond
	defaultPingInterval    = 25 * time.Second
	defaultPongTimeout     = 10 * time.Second
	defaultWriteTimeout    = 10 * time.Second
	defaultPollTimeout     = 20 * time.Second
	defaultCallbackTimeout = 20 * time.Second
	defaultDetectTimeout   = 2 * time.Second
	defaultDisconnectGrace = 5 * time.Second
	defaultReadLimit       = 64 << 10
	defaultSendQueueLen    = 256
	defaultSendQueueBytes  = 1 << 20
	defaultEventBuffer     = 256
	defaultTokenMaxAge     = 24 * time.Hour

	maxBatchWindow     = 10 * time.Second
	minPingInterval    = 10 * time.Millisecond
	maxPollTimeout     = 55 * time.Second
	maxCallbackTimeout = 10 * time.Minute
	maxDetectTimeout   = time.Minute
	maxDisconnectGrace = 10 * time.Minute
	minTokenMaxAge     = time.Minute
	maxTokenMaxAge     = 30 * 24 * time.Hour
	minTokenSecretLen  = 16
)

// withDefaults returns a copy of c with defaults filled in, or an error
// naming the first field out of range.
func (c Config) withDefaults() (Config, error) {
	durations := []struct {
		name     string
		v        *time.Duration
		def, max time.Duration
	}{
		{"WSBatchWindow", &c.WSBatchWindow, defaultWSBatchWindow, maxBatchWindow},
		{"AjaxBatchWindow", &c.AjaxBatchWindow, defaultAjaxBatchWindow, maxBatchWindow},
		{"PingInterval", &c.PingInterval, defaultPingInterval, 0},
		{"PongTimeout", &c.PongTimeout, defaultPongTimeout, 0},
		{"WriteTimeout", &c.WriteTimeout, defaultWriteTimeout, 0},
		{"PollTimeout", &c.PollTimeout, defaultPollTimeout, maxPollTimeout},
		{"CallbackTimeout", &c.CallbackTimeout, defaultCallbackTimeout, maxCallbackTimeout},
		{"DetectTimeout", &c.DetectTimeout, defaultDetectTimeout, maxDetectTimeout},
		{"DisconnectGrace", &c.DisconnectGrace, defaultDisconnectGrace, maxDisconnectGrace},
		{"TokenMaxAge", &c.TokenMaxAge, defaultTokenMaxAge, maxTokenMaxAge},
	}
	for _, d := range durations {
		switch {
		case *d.v < 0:
			return c, fmt.Errorf("web: Config.%s is negative: %v", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		case d.max > 0 && *d.v > d.max:
			return c, fmt.Errorf("web: Config.%s %v exceeds %v", d.name, *d.v, d.max)
		}
	}
	if c.TokenMaxAge < minTokenMaxAge {
		return c, fmt.Errorf("web: Config.TokenMaxAge %v is below %v", c.TokenMaxAge, minTokenMaxAge)
	}
	if c.TokenSecret != nil && len(c.TokenSecret) < minTokenSecretLen {
		return c, fmt.Errorf("web: Config.TokenSecret has %d bytes, want at least %d", len(c.TokenSecret), minTokenSecretLen)
	}
	c.TokenSecret = append([]byte(nil), c.TokenSecret...)
	if c.PingInterval < minPingInterval {
		return c, fmt.Errorf("web: Config.PingInterval %v is below %v", c.PingInterval, minPingInterval)
	}
	sizes := []struct {
		name string
		v    *int64
		def  int64
	}{
		{"ReadLimit", &c.ReadLimit, defaultReadLimit},
	}
	for _, s := range sizes {
		switch {
		case *s.v < 0:
			return c, fmt.Errorf("web: Config.%s is negative: %d", s.name, *s.v)
		case *s.v == 0:
			*s.v = s.def
		}
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"SendQueueLen", &c.SendQueueLen, defaultSendQueueLen},
		{"SendQueueBytes", &c.SendQueueBytes, defaultSendQueueBytes},
		{"EventBuffer", &c.EventBuffer, defaultEventBuffer},
	}
	for _, s := range ints {
		switch {
		case *s.v < 0:
			return c, fmt.Errorf("web: Config.%s is negative: %d", s.name, *s.v)
		case *s.v == 0:
			*s.v = s.def
		}
	}
	if c.Packer > PackerAuto {
		return c, errors.New("web: Config.Packer is not a Packer constant")
	}
	if c.CSRFCheck > CSRFOff {
		return c, errors.New("web: Config.CSRFCheck is not a CSRFCheck constant")
	}
	c.AllowedOrigins = append([]string(nil), c.AllowedOrigins...)
	c.MetricsEventIDs = append([]transit.Keyword(nil), c.MetricsEventIDs...)
	return c, nil
}
