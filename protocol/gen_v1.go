package protocol

// v1Gen is GenV1, Sente 1.9–1.17 with the plain Transit packer
// (sente-protocol.md §3.1, §3.3, §5.2, §6.2): envelope v1 without marker.
// The reference 1.17 writes every message '+'-wrapped, but every v1 reader
// accepts either prefix, so this file writes what 1.9–1.16 write.
//
//	handshake       -["~:chsk/handshake",["<uid>","<csrf>"]]
//	push batch      -[["~:tweet/new",…],…]
//	WS reply        +[<reply>,"a1b2c3"]
//	Ajax reply      -<reply>
//	Ajax no cb      -["~#'","~:chsk/dummy-cb-200"]
//	idle poll       -["~#'","~:chsk/timeout"]
//	server ping     -["~#'","~:chsk/ws-ping"]
//	client frames   +[ev] +[ev,"a1b2c3"] +[ev,0]
type v1Gen struct{}

var _ dialect = v1Gen{}

func (v1Gen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV1Unwrapped(dst, TransitPacker{}, h.event(nilUIDv1, true, false))
}

func (v1Gen) batch(dst, body []byte) []byte {
	return append(append(dst, v1Unwrapped), body...)
}

func (v1Gen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV1Wrapped(dst, TransitPacker{}, v, cbID)
}

func (v1Gen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV1Unwrapped(dst, TransitPacker{}, v)
}

func (v1Gen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV1Unwrapped(dst, TransitPacker{}, IDTimeout)
}

func (v1Gen) serverPing(dst []byte) ([]byte, error) {
	return appendV1Unwrapped(dst, TransitPacker{}, IDWSPing)
}

func (v1Gen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV1)
	if err != nil {
		return nil, err
	}
	return appendV1Wrapped(dst, TransitPacker{}, ev, slot)
}

func (v1Gen) parseServerFrame(frame []byte) (ServerFrame, error) {
	return serverFrameV1(frame, TransitPacker{})
}
