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
	// ErrUnknownClient is returned by Cluster.BindClient, without newUID,
	// for a client-id the cluster knows is not bound.
	ErrUnknownClient = errors.New("web: unknown client")
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

	errNilHandler = errors.New("web: nil handler")
)

// errFormatRefused refuses a frame whose packer format is not the one the
// server answers its client in (Config.Packer): a fixed format, or under
// PackerAuto the format of the client's first frame.
var errFormatRefused = errors.New("web: frame in a packer format the client is not answered in")
