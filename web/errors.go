package web

import "errors"

var (
	// ErrServerClosed is returned by Send, Broadcast and Close once the
	// server has been closed, and by a Reply function whose connection
	// was ended by Close.
	ErrServerClosed = errors.New("web: server closed")
	// ErrBrokerClosed is returned by a Broker's Publish and Subscribe
	// after the broker was closed.
	ErrBrokerClosed = errors.New("web: broker closed")
	// ErrNoUID is returned by Send for an empty uid (Sente 1.4+ rejects a
	// nil uid too; use Broadcast to reach everyone).
	ErrNoUID = errors.New("web: empty uid")
	// ErrReplied is returned by a Reply function called a second time.
	ErrReplied = errors.New("web: reply already sent")
	// ErrReplyExpired is returned by a Reply function whose client can no
	// longer receive the reply: its WebSocket closed or its Ajax request
	// ended (answered with :chsk/timeout after Config.CallbackTimeout, or
	// abandoned by the client).
	ErrReplyExpired = errors.New("web: callback expired")

	errNilHandler = errors.New("web: nil publication handler")
)

// errEDNClient rejects frames of clients using Sente's EDN packer: package
// protocol reads them, but this server answers in Transit only, which such
// a client could not read.
var errEDNClient = errors.New("web: EDN-packed frames are not served yet (Transit only)")
