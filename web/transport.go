package web

import "github.com/sente-go/sente/protocol"

// transport is one connection of a client, as the registry sees it
// (docs/design.md §5.3): ws.go and ajax.go implement it, and registry code
// never asks which one it holds. Every method is safe for concurrent use
// and never blocks.
type transport interface {
	// kind says which connected-uids set the connection counts in.
	kind() Transport
	// generations tells the generations a push to the connection may be
	// written in, for the registry to pack only those (another one is
	// packed when first used).
	generations() protocol.GenerationSet
	// deliver queues a push. A full queue disconnects the connection
	// (closeSlow); a closed one drops the push.
	deliver(p *push)
	// shutdown starts the graceful close of Server.Close: queued pushes
	// are still sent, then the connection ends the way that makes its
	// client reconnect.
	shutdown()
	// abort ends the connection at once, for reason.
	abort(reason closeReason)
}

// closeReason says why a connection ended (docs/design.md §5.3: named
// values, not ad hoc strings). Every client generation reconnects after
// each of them except closeTooBig for 1.9–1.17 (see ws.go, closeFor).
type closeReason uint8

const (
	// closeNone: the connection is open.
	closeNone closeReason = iota
	// closeClient: the client closed or dropped the connection, or a
	// read or write failed.
	closeClient
	// closeReplaced: a newer WebSocket of the same client-id took its
	// place (a reconnect the server noticed before the old socket died).
	closeReplaced
	// closeSlow: the send queue overflowed (Config.SendQueueLen or
	// SendQueueBytes): the client does not keep up.
	closeSlow
	// closeDead: no frame and no pong for PingInterval+PongTimeout.
	closeDead
	// closeTooBig: a WebSocket message exceeded Config.ReadLimit; the
	// socket was closed with status 1009.
	closeTooBig
	// closeIdle: an Ajax client stopped polling for DisconnectGrace.
	closeIdle
	// closeShutdown: Server.Close.
	closeShutdown
	// closeDisconnected: Server.Disconnect ended the uid's connections.
	closeDisconnected
	// closeBadFrames: a WebSocket client sent more than badFrameLimit bad
	// frames in badInputWindow (logbudget.go).
	closeBadFrames
)

// String returns the reason as logged ("slow", "shutdown", …).
func (r closeReason) String() string {
	switch r {
	case closeNone:
		return "open"
	case closeClient:
		return "client"
	case closeReplaced:
		return "replaced"
	case closeSlow:
		return "slow"
	case closeDead:
		return "dead"
	case closeTooBig:
		return "too_big"
	case closeIdle:
		return "idle"
	case closeShutdown:
		return "shutdown"
	case closeDisconnected:
		return "disconnected"
	case closeBadFrames:
		return "bad_frames"
	}
	return "unknown"
}
