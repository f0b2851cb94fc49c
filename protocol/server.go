package protocol

// Server → client frames. Each method of Generation below returns a new
// slice the caller owns; all are safe for concurrent use. An invalid
// Generation returns ErrUnknownGeneration; a value the Transit writer cannot
// encode returns its error, wrapped.

// Handshake returns the handshake frame for h (sente-protocol.md §4):
//
//	GenFlexi    -j["~:chsk/handshake",["<uid>","<csrf>"]]
//	GenV1       -["~:chsk/handshake",["<uid>","<csrf>"]]
//	GenV2Mixed  [["~:chsk/handshake",["<uid>",null]]]
//	GenV2       [["~:chsk/handshake",["<uid>",null,null]],null]
//
// with h.Data as a third element when it is not nil.
func (g Generation) Handshake(h Handshake) ([]byte, error) {
	d := g.dialect()
	if d == nil {
		return nil, ErrUnknownGeneration
	}
	return d.handshake(nil, h)
}

// CallbackReply returns the WebSocket reply v to the callback cbID (the
// Callback.ID of the client frame): "+j[v,cb]", "+[v,cb]" or "[v,cb]".
// An empty cbID is ErrBadCallback.
func (g Generation) CallbackReply(v any, cbID string) ([]byte, error) {
	d := g.dialect()
	if d == nil {
		return nil, ErrUnknownGeneration
	}
	if cbID == "" {
		return nil, ErrBadCallback
	}
	return d.callbackReply(nil, v, cbID)
}

// pongReply is the reply 1.18+ clients expect to a ping with a callback.
const pongReply = "pong"

// Pong returns the reply "pong" to a client ping [:chsk/ws-ping] that came
// with callback cbID, as 1.18+ clients require within 5 s
// (["pong","k9m2p1"]); older clients ping without a callback and get no
// reply. It is CallbackReply("pong", cbID).
func (g Generation) Pong(cbID string) ([]byte, error) {
	return g.CallbackReply(pongReply, cbID)
}

// AjaxReply returns the body of the reply v to an Ajax POST that asked for
// a callback: "-j<v>", "-<v>", "[v]" (GenV2Mixed) or "[v,null]" (GenV2).
func (g Generation) AjaxReply(v any) ([]byte, error) {
	d := g.dialect()
	if d == nil {
		return nil, ErrUnknownGeneration
	}
	return d.ajaxReply(nil, v)
}

// AjaxDummyReply returns the body of the reply to an Ajax POST that asked
// for no callback: the keyword :chsk/dummy-cb-200, which the client
// discards ("-j[\"~#'\",\"~:chsk/dummy-cb-200\"]" for GenFlexi). An Ajax
// reply body must never be empty (sente-protocol.md §2.3).
func (g Generation) AjaxDummyReply() ([]byte, error) {
	return g.AjaxReply(IDDummyReply)
}

// AjaxTimeoutReply returns the body of the reply to an Ajax POST callback
// the application did not answer in time: the keyword :chsk/timeout, which
// the client's callback receives (1.9+ servers send it; 1.3–1.8 clients
// accept it too, sente-protocol.md §8).
func (g Generation) AjaxTimeoutReply() ([]byte, error) {
	return g.AjaxReply(IDTimeout)
}

// PollTimeout returns the answer to a long poll that ends without data
// (sente-protocol.md §6): an empty batch "-j[]" for GenFlexi, whose poll
// loop dies on anything but a handshake or a batch, and :chsk/timeout for
// the others ("-[\"~#'\",\"~:chsk/timeout\"]", "[\"~:chsk/timeout\"]",
// "[\"~:chsk/timeout\",null]").
func (g Generation) PollTimeout() ([]byte, error) {
	d := g.dialect()
	if d == nil {
		return nil, ErrUnknownGeneration
	}
	return d.pollTimeout(nil)
}

// ServerPing returns the server's keep-alive ping :chsk/ws-ping
// ("-[\"~#'\",\"~:chsk/ws-ping\"]", "[\"~:chsk/ws-ping\"]",
// "[\"~:chsk/ws-ping\",null]"); 1.19+ clients answer [:chsk/ws-pong]. It
// returns ErrNoServerPing for GenFlexi, whose clients throw on it: keep
// those alive with WebSocket ping control frames.
func (g Generation) ServerPing() ([]byte, error) {
	d := g.dialect()
	if d == nil {
		return nil, ErrUnknownGeneration
	}
	return d.serverPing(nil)
}

// ServerFrame is a parsed server → client frame, as a client reads it.
type ServerFrame struct {
	// Value is the message: a handshake event, a batch (vector of events),
	// a reply value, :chsk/timeout, :chsk/ws-ping, …
	Value any
	// CallbackID is the cb-uuid a WebSocket callback reply answers; empty
	// for every other frame.
	CallbackID string
}

// ParseServerFrame parses a server frame as a client of generation g reads
// it: GenFlexi and GenV1 read envelope v1 with their packer, GenV2Mixed
// reads v1 and v2, GenV2 reads v2 only. Errors are *BadPackageError. It is
// the inverse of the server writers, for tests and Go clients; a server
// does not need it. It does not retain frame and never panics.
func (g Generation) ParseServerFrame(frame []byte) (ServerFrame, error) {
	d := g.dialect()
	if d == nil {
		return ServerFrame{}, ErrUnknownGeneration
	}
	sf, err := d.parseServerFrame(frame)
	if err != nil {
		return ServerFrame{}, &BadPackageError{Generation: g, Err: err}
	}
	return sf, nil
}

// serverFrameV1 reads a server frame in envelope v1 with packer p.
func serverFrameV1(frame []byte, p Packer) (ServerFrame, error) {
	x, slot, err := unwrapV1(frame, p)
	if err != nil {
		return ServerFrame{}, err
	}
	return serverFrame(x, slot)
}

// serverFrameV2 reads a server frame in envelope v2.
func serverFrameV2(frame []byte) (ServerFrame, error) {
	x, slot, _, err := unwrapV2(frame, TransitPacker{})
	if err != nil {
		return ServerFrame{}, err
	}
	return serverFrame(x, slot)
}

// serverFrame checks the callback slot of a server frame: nil or a cb-uuid.
func serverFrame(x, slot any) (ServerFrame, error) {
	switch cb := slot.(type) {
	case nil:
		return ServerFrame{Value: x}, nil
	case string:
		if cb != "" {
			return ServerFrame{Value: x, CallbackID: cb}, nil
		}
	}
	return ServerFrame{}, ErrBadCallback
}
