package web

import "github.com/sente-go/sente/protocol"

// Publication is one outbound event on its way through a Broker: a push to
// every connection of one user, or a broadcast to every connection.
// Publications are plain data; the Event's Data must not be modified once
// published.
type Publication struct {
	// UID is the user the event is for. It is ignored when Broadcast is set.
	UID string
	// Broadcast addresses every connected client of every server.
	Broadcast bool
	// Event is the pushed event: valid, and not in the reserved chsk
	// namespace (Server.Send checks both before publishing).
	Event protocol.Event
}

// Broker carries publications from Server.Send and Server.Broadcast to the
// servers that hold connections (docs/design.md §5.4). A Server subscribes
// once, in New, and publishes every push through it, so a backplane (Redis
// pub/sub) can connect several processes without touching the transport.
// MemoryBroker is the in-process implementation and the default.
//
// Implementations must be safe for concurrent use.
type Broker interface {
	// Publish hands p to every subscriber. It must not block on the
	// network or on a slow subscriber: a networked broker queues the
	// publication (bounded) and reports what it cannot deliver through its
	// own logging. Publications from one goroutine reach each subscriber in
	// the order they were published. It returns ErrBrokerClosed after the
	// broker was closed.
	Publish(p Publication) error
	// Subscribe registers h to receive every publication published after
	// Subscribe returns, on any goroutine the broker chooses (MemoryBroker
	// calls h on the publisher's goroutine), one call at a time per
	// publishing goroutine. h must return quickly and must not call
	// Publish. unsubscribe stops delivery: once it returns, h is not
	// called again; it is idempotent.
	Subscribe(h func(Publication)) (unsubscribe func(), err error)
}
