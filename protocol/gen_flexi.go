package protocol

// flexiGen is GenFlexi, Sente 1.3–1.8 with the flexi Transit packer
// (sente-protocol.md §1, §3.1, §3.2, §5.1, §6.1): envelope v1, marker 'j'.
//
//	handshake       -j["~:chsk/handshake",["<uid>","<csrf>"]]
//	push batch      -j[["~:tweet/new",…],…]
//	WS reply        +j[<reply>,"a1b2c3"]
//	Ajax reply      -j<reply>
//	Ajax no cb      -j["~#'","~:chsk/dummy-cb-200"]
//	idle poll       -j[]            (never :chsk/timeout: the poll loop dies)
//	server ping     none            (the client throws on it)
//	client frames   +j[ev] +j[ev,"a1b2c3"] +j[ev,0]
type flexiGen struct{}

var _ dialect = flexiGen{}

func (flexiGen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV1Unwrapped(dst, FlexiPacker{}, h.event(nilUIDv1, true, false))
}

func (flexiGen) batch(dst, body []byte) []byte {
	return append(append(dst, v1Unwrapped, flexiJSON), body...)
}

func (flexiGen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV1Wrapped(dst, FlexiPacker{}, v, cbID)
}

func (flexiGen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV1Unwrapped(dst, FlexiPacker{}, v)
}

// pollTimeout is an empty batch: a 1.3/1.4 client's poll loop stops for
// good on :chsk/timeout or any other non-batch (sente-protocol.md §6.1, §13).
func (flexiGen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV1Unwrapped(dst, FlexiPacker{}, []any{})
}

func (flexiGen) serverPing(dst []byte) ([]byte, error) {
	return dst, ErrNoServerPing
}

func (flexiGen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV1)
	if err != nil {
		return nil, err
	}
	return appendV1Wrapped(dst, FlexiPacker{}, ev, slot)
}

func (flexiGen) parseServerFrame(frame []byte) (ServerFrame, error) {
	return serverFrameV1(frame, FlexiPacker{})
}
