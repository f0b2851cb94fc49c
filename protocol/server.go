package protocol

// Server → client frames. Each method below returns a new slice the caller
// owns; all are safe for concurrent use. An invalid Generation or Dialect
// returns ErrUnknownGeneration; a value the packer cannot encode returns
// its error, wrapped. The methods of Generation write Transit frames;
// those of Dialect write its format's (package doc, format.go).

// Handshake returns the handshake frame for h (docs/protocol.md §4):
//
//	GenFlexi    -j["~:chsk/handshake",["<uid>","<csrf>"]]
//	GenV1       -["~:chsk/handshake",["<uid>","<csrf>"]]
//	GenV2Mixed  [["~:chsk/handshake",["<uid>",null]]]
//	GenV2       [["~:chsk/handshake",["<uid>",null,null]],null]
//
// with h.Data as a third element when it is not nil.
func (g Generation) Handshake(h Handshake) ([]byte, error) {
	return Dialect{Generation: g}.Handshake(h)
}

// Handshake returns the handshake frame for h; see Generation.Handshake.
// In EDN: -[:chsk/handshake ["<uid>" "<csrf>"]] (GenFlexi and GenV1 alike),
// [[:chsk/handshake ["<uid>" nil]]], [[:chsk/handshake ["<uid>" nil nil]] nil].
func (d Dialect) Handshake(h Handshake) ([]byte, error) {
	impl := d.impl()
	if impl == nil {
		return nil, ErrUnknownGeneration
	}
	return impl.handshake(nil, h)
}

// CallbackReply returns the WebSocket reply v to the callback cbID (the
// Callback.ID of the client frame): "+j[v,cb]", "+[v,cb]" or "[v,cb]".
// An empty cbID is ErrBadCallback.
func (g Generation) CallbackReply(v any, cbID string) ([]byte, error) {
	return Dialect{Generation: g}.CallbackReply(v, cbID)
}

// CallbackReply returns the WebSocket reply v to the callback cbID; see
// Generation.CallbackReply. In EDN: "+e[v cb]", "+[v cb]" or "[v cb]".
func (d Dialect) CallbackReply(v any, cbID string) ([]byte, error) {
	impl := d.impl()
	if impl == nil {
		return nil, ErrUnknownGeneration
	}
	if cbID == "" {
		return nil, ErrBadCallback
	}
	return impl.callbackReply(nil, v, cbID)
}

// pongReply is the reply 1.18+ clients expect to a ping with a callback.
const pongReply = "pong"

// Pong returns the reply "pong" to a client ping [:chsk/ws-ping] that came
// with callback cbID, as 1.18+ clients require within 5 s
// (["pong","k9m2p1"]); older clients ping without a callback and get no
// reply. It is CallbackReply("pong", cbID).
func (g Generation) Pong(cbID string) ([]byte, error) { return g.CallbackReply(pongReply, cbID) }

// Pong returns the reply "pong" to a client ping with callback cbID; see
// Generation.Pong. In EDN: ["pong" "k9m2p1"].
func (d Dialect) Pong(cbID string) ([]byte, error) { return d.CallbackReply(pongReply, cbID) }

// AjaxReply returns the body of the reply v to an Ajax POST that asked for
// a callback: "-j<v>", "-<v>", "[v]" (GenV2Mixed) or "[v,null]" (GenV2).
func (g Generation) AjaxReply(v any) ([]byte, error) { return Dialect{Generation: g}.AjaxReply(v) }

// AjaxReply returns the body of the reply v to an Ajax POST; see
// Generation.AjaxReply. In EDN: "-e<v>", "-<v>", "[v]" or "[v nil]".
func (d Dialect) AjaxReply(v any) ([]byte, error) {
	impl := d.impl()
	if impl == nil {
		return nil, ErrUnknownGeneration
	}
	return impl.ajaxReply(nil, v)
}

// AjaxDummyReply returns the body of the reply to an Ajax POST that asked
// for no callback: the keyword :chsk/dummy-cb-200, which the client
// discards ("-j[\"~#'\",\"~:chsk/dummy-cb-200\"]" for GenFlexi). An Ajax
// reply body must never be empty (docs/protocol.md §2.3).
func (g Generation) AjaxDummyReply() ([]byte, error) { return g.AjaxReply(IDDummyReply) }

// AjaxDummyReply returns the reply to an Ajax POST without callback; see
// Generation.AjaxDummyReply. In EDN: "-e:chsk/dummy-cb-200", …
func (d Dialect) AjaxDummyReply() ([]byte, error) { return d.AjaxReply(IDDummyReply) }

// AjaxTimeoutReply returns the body of the reply to an Ajax POST callback
// the application did not answer in time: the keyword :chsk/timeout, which
// the client's callback receives (1.9+ servers send it; 1.3–1.8 clients
// accept it too, docs/protocol.md §8).
func (g Generation) AjaxTimeoutReply() ([]byte, error) { return g.AjaxReply(IDTimeout) }

// AjaxTimeoutReply returns the reply to an unanswered Ajax POST callback;
// see Generation.AjaxTimeoutReply.
func (d Dialect) AjaxTimeoutReply() ([]byte, error) { return d.AjaxReply(IDTimeout) }

// PollTimeout returns the answer to a long poll that ends without data
// (docs/protocol.md §6): an empty batch "-j[]" for GenFlexi, whose poll
// loop dies on anything but a handshake or a batch, and :chsk/timeout for
// the others ("-[\"~#'\",\"~:chsk/timeout\"]", "[\"~:chsk/timeout\"]",
// "[\"~:chsk/timeout\",null]").
func (g Generation) PollTimeout() ([]byte, error) { return Dialect{Generation: g}.PollTimeout() }

// PollTimeout returns the answer to an idle long poll; see
// Generation.PollTimeout. In EDN: "-e[]", "-:chsk/timeout",
// "[:chsk/timeout]", "[:chsk/timeout nil]".
func (d Dialect) PollTimeout() ([]byte, error) {
	impl := d.impl()
	if impl == nil {
		return nil, ErrUnknownGeneration
	}
	return impl.pollTimeout(nil)
}

// ServerPing returns the server's keep-alive ping :chsk/ws-ping
// ("-[\"~#'\",\"~:chsk/ws-ping\"]", "[\"~:chsk/ws-ping\"]",
// "[\"~:chsk/ws-ping\",null]"); 1.19+ clients answer [:chsk/ws-pong]. It
// returns ErrNoServerPing for GenFlexi, whose clients throw on it: keep
// those alive with WebSocket ping control frames.
func (g Generation) ServerPing() ([]byte, error) { return Dialect{Generation: g}.ServerPing() }

// ServerPing returns the server's keep-alive ping; see
// Generation.ServerPing. In EDN: "-:chsk/ws-ping", "[:chsk/ws-ping]",
// "[:chsk/ws-ping nil]".
func (d Dialect) ServerPing() ([]byte, error) {
	impl := d.impl()
	if impl == nil {
		return nil, ErrUnknownGeneration
	}
	return impl.serverPing(nil)
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
	return Dialect{Generation: g}.ParseServerFrame(frame)
}

// ParseServerFrame parses a server frame as a client of dialect d reads
// it; see Generation.ParseServerFrame. A GenFlexi client reads both flexi
// markers, whatever d.Format.
func (d Dialect) ParseServerFrame(frame []byte) (ServerFrame, error) {
	impl := d.impl()
	if impl == nil {
		return ServerFrame{}, ErrUnknownGeneration
	}
	sf, err := impl.parseServerFrame(frame)
	if err != nil {
		return ServerFrame{}, &BadPackageError{Generation: d.Generation, Format: d.Format, Err: err}
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

// serverFrameV2 reads a server frame in envelope v2 with packer p.
func serverFrameV2(frame []byte, p Packer) (ServerFrame, error) {
	x, slot, _, err := unwrapV2(frame, p)
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
