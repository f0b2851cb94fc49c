package protocol

// flexiGen is GenFlexi, Sente 1.3–1.8 (docs/protocol.md §1, §3.1, §3.2,
// §5.1, §6.1): envelope v1 with the flexi Transit packer (marker 'j',
// FormatTransit) or with Sente's default EDN packer (no marker,
// FormatEDN). An EDN-packer client reads plain EDN only: "-e[…]", the
// flexi packer's EDN, is the symbol e to it, and its poll loop dies on it.
//
//	handshake       -j["~:chsk/handshake",["<uid>","<csrf>"]]     -[:chsk/handshake ["<uid>" "<csrf>"]]
//	push batch      -j[["~:tweet/new",…],…]                        -[[:tweet/new …] …]
//	WS reply        +j[<reply>,"a1b2c3"]                           +[<reply> "a1b2c3"]
//	Ajax reply      -j<reply>                                      -<reply>
//	Ajax no cb      -j["~#'","~:chsk/dummy-cb-200"]                -:chsk/dummy-cb-200
//	idle poll       -j[]                                           -[]
//	                (never :chsk/timeout: the poll loop dies)
//	server ping     none            (the client throws on it)
//	client frames   +j[ev] +j[ev,"a1b2c3"] +j[ev,0]                +[ev] +[ev "a1b2c3"] +[ev 0]
type flexiGen struct{ f Format }

var _ generationImpl = flexiGen{}

func (g flexiGen) packer() Packer {
	if g.f == FormatEDN {
		return EDNPacker{}
	}
	return FlexiPacker{}
}

func (g flexiGen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV1Unwrapped(dst, g.packer(), h.event(nilUIDv1, true, false))
}

func (g flexiGen) batch(dst, body []byte) []byte {
	dst = append(dst, v1Unwrapped)
	if g.f == FormatTransit {
		dst = append(dst, flexiJSON)
	}
	return append(dst, body...)
}

func (g flexiGen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV1Wrapped(dst, g.packer(), v, cbID)
}

func (g flexiGen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV1Unwrapped(dst, g.packer(), v)
}

// pollTimeout is an empty batch: a 1.3/1.4 client's poll loop stops for
// good on :chsk/timeout or any other non-batch (docs/protocol.md §6.1, §13).
func (g flexiGen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV1Unwrapped(dst, g.packer(), []any{})
}

func (flexiGen) serverPing(dst []byte) ([]byte, error) {
	return dst, ErrNoServerPing
}

func (g flexiGen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV1)
	if err != nil {
		return nil, err
	}
	return appendV1Wrapped(dst, g.packer(), ev, slot)
}

func (g flexiGen) parseServerFrame(frame []byte) (ServerFrame, error) {
	return serverFrameV1(frame, g.packer())
}
