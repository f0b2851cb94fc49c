package web

import (
	"net/http"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// Transport names how a client is connected.
type Transport uint8

const (
	// TransportWS is a WebSocket.
	TransportWS Transport = iota + 1
	// TransportAjax is Ajax: long polls for pushes, POSTs for events.
	TransportAjax
)

// numTransports sizes arrays indexed by Transport.index.
const numTransports = 2

// index maps TransportWS, TransportAjax to 0, 1.
func (t Transport) index() int { return int(t) - 1 }

// String returns "ws", "ajax", or "" for the zero Transport.
func (t Transport) String() string {
	switch t {
	case TransportWS:
		return "ws"
	case TransportAjax:
		return "ajax"
	}
	return ""
}

// Event ids of the events the server itself delivers on Events (Sente
// 1.9+ shapes; they never travel on the wire).
const (
	// IDUIDPortOpen is [:chsk/uidport-open uid]: uid got its first
	// connection.
	IDUIDPortOpen transit.Keyword = "chsk/uidport-open"
	// IDUIDPortClose is [:chsk/uidport-close uid]: uid has had no
	// connection for Config.DisconnectGrace.
	IDUIDPortClose transit.Keyword = "chsk/uidport-close"
)

// Message is what the application receives on Server.Events: an event a
// client sent, or the server's own :chsk/uidport-open and
// :chsk/uidport-close. It is the Go form of Sente's event-msg. Client
// pings (:chsk/ws-ping, :chsk/ws-pong) are answered by the server and not
// delivered, and so is any other client event in the reserved chsk
// namespace (a client cannot forge a uidport event).
type Message struct {
	// UID is the user the client is bound to (Config.UserID); for a
	// uidport event, the user that connected or left.
	UID string
	// ClientID is the client (browser tab) that sent the event; empty for
	// uidport events and for POSTs of Sente 1.3–1.6, which carry none.
	ClientID string
	// Event is the event: [id] or [id data].
	Event protocol.Event
	// Reply, when not nil, answers the client's callback with v (any value
	// of the transit model, or a Go value package transit can write). It is
	// nil when the client asked for no reply. It may be called from any
	// goroutine, at most once (later calls return ErrReplied); it does not
	// block. It returns ErrReplyExpired when the client can no longer get
	// the reply, and the Transit writer's error when v cannot be encoded
	// (Reply may then be called again). Over a WebSocket, pushes to the
	// uid made before Reply are written before the reply, whatever their
	// batch window. Server.Close waits for the replies to callbacks
	// already handed over (doc.go, "Closing").
	Reply func(v any) error
	// Transport is how the event came; zero for uidport events.
	Transport Transport
	// Generation is the wire generation of the frame the event came in;
	// GenUnknown for uidport events.
	Generation protocol.Generation
	// Format is the packer format of the frame the event came in, which
	// Reply answers in (Config.Packer); FormatTransit for uidport events.
	Format protocol.Format
	// Request is the request behind the event, for its headers, cookies
	// and URL; nil for uidport events.
	//
	// For an Ajax POST it is the request that carried the event, shared
	// and read-only: do not read its Body (its Form is parsed). Its
	// Context is done once the request has been answered.
	//
	// For a WebSocket it is built, for this event alone, from what the
	// connection keeps of its upgrade request after the handshake
	// (Config's hooks, UserID, CSRFToken, HandshakeData and Generations,
	// get the whole request at upgrade time): the same method, URL,
	// protocol, host, remote address, request URI, TLS state, Pattern and
	// context values (its Context is done), the header fields that fit in
	// MaxKeptHeaderBytes (taken in order of their names, a field too large
	// for what is left skipped) but for the WebSocket handshake's
	// (Connection, Upgrade, Sec-WebSocket-Key, -Version and -Extensions),
	// and no body or form. Its path values are those of the wildcards of
	// the pattern (PathValue of a name in Pattern); one set with
	// SetPathValue under another name is not kept. The upgrade request
	// itself is not kept, so that a socket costs the same whatever header
	// its client sent, and little while idle.
	Request *http.Request
}

// ConnectedUIDs is a snapshot of the connected users, Sente's
// connected-uids {:ws #{…} :ajax #{…} :any #{…}}. A uid stays in WS for
// Config.DisconnectGrace after its last WebSocket closed, and in Ajax while
// an Ajax client of it polls (and DisconnectGrace after its last poll).
// With a RedisCluster it counts the uids of every server. Each slice is sorted;
// the value is not shared.
type ConnectedUIDs struct {
	WS   []string // uids with a WebSocket
	Ajax []string // uids with an Ajax client
	Any  []string // the union
}

// uidportEvent returns the Message [:chsk/uidport-open uid] (open) or
// [:chsk/uidport-close uid].
func uidportEvent(uid string, open bool) Message {
	id := IDUIDPortClose
	if open {
		id = IDUIDPortOpen
	}
	return Message{UID: uid, Event: protocol.NewEvent(id, uid)}
}

// dialect returns the dialect of the frame the event came in, which its
// reply is written in.
func (m *Message) dialect() protocol.Dialect {
	return protocol.Dialect{Generation: m.Generation, Format: m.Format}
}
