// Package web serves the Sente channel socket (taoensso/sente): the
// WebSocket and Ajax long-poll transports at one path, for clients of every
// Sente generation at once, with the connection registry, push batching and
// the broker that carries pushes. It is the Go form of Sente's
// make-channel-socket-server!. The wire format is package protocol's; the
// byte-level reference is docs/protocol.md, which the comments cite by
// section (docs/protocol.md §11.2), and docs/design.md describes the
// layers and the backplane.
//
// # Use
//
//	s, err := web.New(web.Config{UserID: uidFromSession, CSRFToken: tokenFromSession,
//		AllowedOrigins: []string{"https://example.com"}, Logger: log})
//	router.Handle("/chsk", s.Handler())          // GET (WebSocket or poll) and POST
//	go func() {
//		for m := range s.Events() {               // closed when Close returns
//			switch m.Event.ID {
//			case "cmd/query":
//				if m.Reply != nil {
//					m.Reply(answer(m.Event.Data))
//				}
//			case web.IDUIDPortOpen: …
//			}
//		}
//	}()
//	s.Send(uid, protocol.Event{ID: "tweet/new", Data: t}) // every tab of uid
//	s.Broadcast(ev)                                    // everyone
//	s.Close(ctx)                                       // before http.Server.Shutdown
//
// # Users and clients
//
// Every client instance (a browser tab) has a client-id; Config.UserID maps
// it to the uid pushes are addressed by. The uid is bound to the client-id
// the first time the server sees it and kept while the client has a
// connection (and Config.DisconnectGrace after), so a UserID that returns a
// fresh random id per request, as the original BirdWatch server's did,
// still gives each Ajax client one uid that pushes reach (the original
// Sente answered every such poll with a new handshake, docs/protocol.md §6.1). A consequence
// is that a client-id is a bearer credential for its uid during that time;
// real client-ids are random UUIDs. A uid gets :chsk/uidport-open on
// Events when it gains its first connection and :chsk/uidport-close when it
// has had none for DisconnectGrace; ConnectedUIDs and WatchUIDs give Sente's
// connected-uids.
//
// Sente 1.3–1.6 Ajax POSTs carry no client-id; they carry the CSRF token
// their handshake gave them. So the handshake of a 1.3–1.13 client (one
// that sent no page token) carries a client token of its own instead of
// the page's: it names the client-id and uid, is signed with
// Config.TokenSecret (shared by a Cluster's servers), bound to the
// session's page token, and expires after Config.TokenMaxAge (renewed by a
// new handshake on a poll past half of it). A POST that carries one is
// that client's event, on any server; a forged, expired or foreign one
// gets 403 with the reason as text, and a POST with neither client-id nor
// client token 403 "Unknown client". The payload's :uid, which anyone
// can write, is never used.
//
// # Client generations
//
// protocol.Generation names the four wire formats (1.3–1.8 flexi, 1.9–1.17
// v1, 1.18–1.20 v2 mixed, 1.21+ v2). The server answers each client in its
// own, detected per connection:
//
//   - Ajax POST: the ppstr tells (protocol.ParseClientFrame), with the
//     form's "_" telling a 1.3–1.8 EDN client from a 1.9–1.17 one
//     (ClientFrame.GenerationIn); the reply is written in that generation.
//   - Ajax poll: the query tells (protocol.DetectAjax: "_" is 1.3–1.8,
//     "handshake?=1" 1.21+, "handshake?=true" 1.9–1.20, answered in v1,
//     which all of those read). It is remembered per client-id, together
//     with what any frame of the client revealed, since later polls omit
//     the flag. A flag-less poll from a client-id the server does not know
//     (a 1.9+ client that outlived a restart) is answered in v2; a 1.9–1.17
//     client that cannot read it fails the poll and comes back with the
//     flag.
//   - WebSocket: the handshake must be the first frame, before the client
//     says anything, so only the URL and what the deployment knows can
//     tell. A "csrf-token" parameter means 1.14+; its absence, on a server
//     that hands out a page token (Config.CSRFToken), means 1.3–1.13 (a
//     1.14+ client sends the page's token; one whose page has none cannot
//     be served by such a server). Config.Clients (the generations the
//     deployment serves) and Config.Generations (per request) narrow the
//     candidates further (docs/protocol.md §11.2 option 1). A reconnect of a client-id
//     whose generation is known skips all this.
//
// When the candidates of a WebSocket are one generation, or share one
// writer, the client gets one handshake in its dialect and nothing else it
// cannot read. This is the deployment-knowledge path, and the one to use
// when the deployment serves its own bundles: BirdWatch's server sets
// Clients to {flexi, v2} (its 1.3 bundle and its 1.21+ page) and hands out
// a page token, so a URL without token is its bundle and one with a token
// its page.
//
// Otherwise the connection keeps the set of candidates and writes every
// frame in each encoding of a cover of the set (one encoding per candidate
// that reads no other) until the client's first frame pins one (docs/protocol.md §11.2
// option 3). Each client parses its own encoding and drops the others
// with a console error, keeping the socket (docs/protocol.md §11.2, §13). Two refinements
// keep this from ever delivering a push twice or late: 1.18–1.20 clients
// read both v1 and v2, so while they are among the candidates of a cover
// holding both, pushes are held (queued, not written) instead of written
// twice; and right after the handshake the server sends a probe, a Sente
// ping in the v2 encoding, which 1.19+ clients answer at once with
// [:chsk/ws-pong], pinning them within a round trip. When the probe goes
// unanswered for Config.DetectTimeout the client is not 1.21+, the
// candidates lose v2 and held pushes go out. The probe is sent only when
// v2 is a candidate that it can rule out. What each client sees when the
// URL and the deployment leave several candidates:
//
//   - No page token (CSRFToken nil) and no "csrf-token": any generation.
//     Handshakes in flexi, v1 and v2, then the probe. A 1.3–1.8 client
//     logs three unreadable frames (v1 and v2 handshakes, probe), then one
//     per push (its v1 copy) until its first event or 25 s ping pins it; a
//     1.9–1.17 client logs the frames of the other generations and gets
//     pushes in v1 after DetectTimeout; 1.18–1.20 read two handshakes;
//     1.21+ log two frames (flexi and v1 handshakes) and are pinned by the
//     probe.
//   - A page token and no "csrf-token": 1.3–1.8 and 1.9–1.13 cannot be
//     told apart in Transit. Handshakes in flexi and v1, no probe; each
//     client logs the other's handshake and the other's copy of each push
//     until it speaks. In EDN the two read the same frames (Sente's EDN
//     packer has no flexi marker): one handshake, nothing unreadable.
//   - "csrf-token": 1.14–1.17, 1.18–1.20 and 1.21+. Handshakes in v1 and
//     v2, then the probe; pushes held until the client is pinned (a round
//     trip for 1.19+) or DetectTimeout. 1.14–1.18 log the v2 frames they
//     cannot read (1.18 reads both handshakes), 1.21+ the v1 handshake.
//
// Ajax clients never see a frame of another generation: the poll tells.
//
// # Packers
//
// Each generation comes in two packer formats (protocol.Format): Transit
// JSON (the flexi packer's 'j' bodies for 1.3–1.8, which read 'e' bodies
// too) and EDN, Sente's default packer, plain in every generation (a
// 1.3–1.8 client with it reads "-[…]", never the flexi packer's "-e[…]").
// Config.Packer chooses: PackerTransit (the default) or PackerEDN answer
// every client in that format and refuse frames in the other (dropped on a
// WebSocket, 400 for an Ajax POST); PackerAuto answers each client-id in
// the format of its first frame, pinned like its generation (together
// they are its protocol.Dialect), and in Transit until then: a handshake,
// and pushes to a WebSocket that has not spoken yet, are Transit. Sente's
// query parameters never tell the packer, and a client cannot speak before
// its handshake, so a client that reads only EDN (Sente's default packer)
// cannot open on a PackerAuto server: a deployment with EDN clients sets
// PackerEDN (and serves its Transit clients from another Server). Every frame
// the server writes (handshake, replies, pongs, Ajax dummy and timeout
// replies, "no data" answers, pushes) is in the client's dialect; a push is
// packed once per format in use and generation. Message.Format tells the
// format an event came in.
//
// Pings: 1.18+ clients ping with a callback and get "pong"; older clients'
// pings (no callback) get nothing; neither reaches Events. Keep-alive uses
// RFC 6455 ping frames every Config.PingInterval, never Sente pings, which
// 1.3–1.8 clients throw on; a socket silent for PingInterval+PongTimeout is
// closed as dead (a parked one at its next ping: up to one PingInterval
// later).
//
// # Closing
//
// Sente 1.9–1.17 clients never reconnect after a clean WebSocket close (any
// close frame), while 1.3–1.8 and 1.18+ reconnect after any close (docs/protocol.md §5.2,
// §13). So the server never sends a close frame to a socket that may be a
// 1.9–1.17 client: Close ends its TCP stream without one (the browser sees
// 1006, not clean, and reconnects), after writing what was queued. Other
// sockets get a 1001 "going away" close frame. Slow, replaced and dead
// sockets, and those that send too many bad frames, are dropped without a
// close frame, which every generation reconnects after. The one exception is a message over Config.ReadLimit:
// gorilla/websocket answers it with a 1009 close frame, after which a
// 1.9–1.17 client stays disconnected, which is the right outcome for a
// client that would send the same oversized message again. Ajax polls are
// answered at Close with what is queued or with the "no data" answer of the
// client's generation (an empty batch for 1.3–1.8, whose poll loop dies on
// :chsk/timeout, docs/protocol.md §6.1).
//
// Replies during Close. A callback the application was handed before its
// client's connection closed is answered if the application replies in
// time: Close waits, for at most Config.CallbackTimeout after the event
// was handed over and never past Close's context, for the reply to every
// event with a callback that reached Events (Message.Reply not nil),
// whether it arrived before Close began or during the drain. A WebSocket
// writes its queued frames and these replies as they come, and ends its
// socket (as above) once none is pending or the wait is over; an Ajax
// POST is held until its reply, or answered :chsk/timeout at the end of
// the wait. A Reply after that returns ErrReplyExpired. An application
// that answers promptly therefore loses no reply at Close; one that never
// answers some callback delays Close by up to CallbackTimeout, and Close
// returns ctx.Err() when its context ends first (what is left is then
// closed at once). New Ajax requests get 503 from the start of Close.
//
// # Pushes
//
// Send and Broadcast go through the backplane (the Broker, and for Ajax
// clients the Cluster's mailboxes when it has some; see "Backplane") to
// per-uid buffers, one per transport, flushed after the batch window
// (Config.WSBatchWindow, AjaxBatchWindow) or by Flush. A flush packs the
// batch once for each dialect (generation and format) its connections are
// written in (protocol.Format.PackBatch), and no other, and queues the same
// bytes on every connection it goes to; a small WebSocket broadcast is
// written as one websocket.PreparedMessage per dialect, a larger one from
// the shared frame. Each connection has a bounded queue
// (Config.SendQueueLen, SendQueueBytes, counting what the writer has not
// finished writing): a push never waits for a client, and a client whose
// queue overflows is disconnected (it reconnects and gets a new
// handshake); what it held is freed with its queue. A batch larger than
// SendQueueBytes is split into several pushes of events that each fit,
// sent in order (one event larger than the limit goes alone): a client
// whose queue cannot take them all is disconnected, so a client that
// stopped reading holds at most SendQueueBytes of frames. An Ajax client's queue keeps pushes
// between two polls, for as long as it keeps polling; one poll drains it as
// a single batch. A callback reply over a WebSocket is written after the
// pushes to its uid made before it (their buffer is flushed first).
//
// # Backplane
//
// A Server reaches other servers through its backplane, two small
// interfaces with an in-memory implementation, the default, and a Redis
// one side by side; a Server alone goes through the memory ones, so that
// one code path serves one process and a cluster:
//
//	ws.go, ajax.go      registry.go, fanout.go   backplane.go
//	transports ───────→ registry ──────────────→ backplane ─┬→ Broker   MemoryBroker (default) | RedisBroker
//	                                                        └→ Cluster  MemoryCluster (default) | RedisCluster
//	                                                             Mailboxes: none (nil)           | RedisCluster
//
//	packages:  server ─→ web ─→ protocol ─→ transit, transit/edn
//	                     web ─→ go-redis (RedisBroker, RedisCluster, redis.go; web/redistest in tests)
//
// The transports talk to the registry only; the registry makes every call
// to the Broker and the Cluster (backplane.go), and says what their
// failures mean for a request. The Broker carries each push to every
// server that shares it, which delivers it to its own connections. The
// Cluster shares the rest: presence (ConnectedUIDs and the uidport events
// are cluster-wide), the binding of each client-id and what its frames
// told, the secret of client tokens, and, when it has them (Mailboxes),
// the Ajax mailboxes. MemoryCluster is the cluster of one Server: nothing
// to share, no mailboxes (an Ajax client's pushes wait in its
// connection's queue). The conformance suites testBroker and testCluster
// run on both implementations; outages and data loss through a
// fault-injecting Cluster and on a real Redis.
//
// Several Servers (processes) serve one set of clients behind a plain
// round-robin load balancer, without sticky sessions, with a RedisBroker
// and a RedisCluster each, on the process's one Redis client
// (redis.UniversalClient: a server, Sentinel, or Redis Cluster, whose
// failover is Redis's own):
//
//   - presence: each server's connected uids, renewed by a heartbeat and
//     dropped when it stops, make ConnectedUIDs and the uidport events
//     cluster-wide (a uid connects when its first connection anywhere
//     opens, and leaves when its last one anywhere is gone);
//   - client-ids: the uid bound to a client-id and what its frames told
//     are the cluster's, written before the answer that follows them, so
//     that a client's next request may reach any server;
//   - Ajax mailboxes: a push for Ajax clients goes into a shared mailbox
//     per client (once, by the server that published it), and a poll
//     takes it wherever it lands; WebSockets are served by the server that
//     holds them.
//
// Every RedisCluster key starts with a prefix with a hash tag ({sente}:
// by default), which keeps them in one Redis Cluster slot, as its
// transactions and its Lua script need. Servers that share only a Broker
// (each with its own MemoryCluster) serve WebSockets anywhere and Ajax
// clients on the server their load balancer keeps them on.
//
// BroadcastLocal sends to one server's own connections, for what every
// server sends alike (periodic statistics). When Redis is unreachable
// each server serves its own clients alone; a request that only a known
// client sends (a poll without the handshake flag, a POST), from a
// client-id the server cannot vouch for, gets 503 "Cluster unavailable"
// and is retried, rather than a new uid; so does one that comes, after
// Redis lost its data, while the servers write back what they know
// (RedisCluster, settling).
//
// # Errors and bad input
//
// Malformed WebSocket frames are logged and dropped, the socket kept,
// unless the client sends more than 50 of them in 10 s: then the socket is
// dropped without a close frame and that logged once at warn. A bad POST
// gets 400, a missing client-id 400, a bad CSRF token 403 "Bad CSRF
// token" (also a forged client token), an expired client token 403
// "Expired CSRF token", another client's 403 "CSRF token of another
// client", a POST that names no client 403 "Unknown client: …", a refused
// origin 403 "Unauthorized origin", a request Config.Authorize refuses 401
// "Unauthorized request" (or its Refusal), a request during Close 503; no
// answer has an empty body.
//
// # Security defaults
//
// The zero Config is the safe one (Config.CSRFCheck, AllowedOrigins):
// requests from pages of other sites are refused, every POST carries a
// valid token (the page's for 1.14+, a client token for 1.3–1.13), a
// token presented is checked, and a WebSocket or poll without token is
// served only as a 1.3–1.13 client, which sends none there. Each knob that
// loosens this says what it opens. Config.Authorize refuses what the
// application wants to refuse, and Server.Disconnect ends a user's
// connections. Client events in the reserved
// chsk namespace are dropped, so a client cannot forge a uidport event.
//
// Logging bad input never costs more than the input: each WebSocket logs
// at most 5 lines about its bad frames per 10 s, all of them together at
// most 50, and the Server at most 20 about refused POSTs, the first line
// after some were left out counting them ("not_logged", and a WebSocket
// counts the rest when it closes); error messages quote at most a few
// hundred bytes of a frame (packages transit and edn clip them).
//
// # Concurrency and resources
//
// Server is safe for concurrent use. Each WebSocket has a reader
// goroutine while its client sends, which alone reads the socket, and a
// writer while it has something to write, which alone writes it
// (docs/design.md §5.1); Ajax requests run on their own request
// goroutines. One scheduler goroutine runs every timer (batch windows,
// grace periods, probe windows, the pings of all sockets), one notifier
// goroutine hands uidport events to the application in order, and, where
// the system has epoll (Linux), one poller goroutine waits for the idle
// WebSockets' clients and starts their readers; no connection has a timer
// or goroutine of its own beyond its reader and writer. An idle WebSocket
// costs about 3 KiB of heap and, with the poller, no goroutine (`make
// idlemem` measures a whole process: about 6 KiB of RSS each at 10,000;
// elsewhere, one goroutine with a 2 KiB stack, about 9 KiB), and what it
// keeps of its upgrade request: the header fields that fit in
// MaxKeptHeaderBytes, not the request (Message.Request). One whose client
// stopped reading holds at most Config.SendQueueBytes of frames, and the
// events they were packed from, until its queue overflows and it is cut
// (TestStalledReaders). A closed one is freed at once: its queue, its
// writer and the pushes it held, and the scheduler holds its pending ping
// through a small handle that the close cancels. Server.Handler does not
// bound request headers; the http.Server does (MaxHeaderBytes, 1 MiB by
// default). Close stops
// every goroutine the Server started. The Server logs through
// Config.Logger only; the zero logger logs nothing.
package web
