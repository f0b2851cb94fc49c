package protocol

// v1Gen is GenV1, Sente 1.9–1.17 with the plain Transit packer or the EDN
// packer (docs/protocol.md §3.1, §3.3, §5.2, §6.2): envelope v1 without
// marker. The reference 1.17 writes every message '+'-wrapped, but every
// v1 reader accepts either prefix, so this file writes what 1.9–1.16
// write. In EDN a top-level scalar needs no quote, so "-:chsk/timeout" is
// the EDN twin of -["~#'","~:chsk/timeout"].
//
//	handshake       -["~:chsk/handshake",["<uid>","<csrf>"]]      -[:chsk/handshake ["<uid>" "<csrf>"]]
//	push batch      -[["~:tweet/new",…],…]                         -[[:tweet/new …] …]
//	WS reply        +[<reply>,"a1b2c3"]                            +[<reply> "a1b2c3"]
//	Ajax reply      -<reply>                                       -<reply>
//	Ajax no cb      -["~#'","~:chsk/dummy-cb-200"]                 -:chsk/dummy-cb-200
//	idle poll       -["~#'","~:chsk/timeout"]                      -:chsk/timeout
//	server ping     -["~#'","~:chsk/ws-ping"]                      -:chsk/ws-ping
//	client frames   +[ev] +[ev,"a1b2c3"] +[ev,0]                   +[ev] +[ev "a1b2c3"] +[ev 0]
type v1Gen struct{ f Format }

var _ generationImpl = v1Gen{}

func (g v1Gen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV1Unwrapped(dst, g.f.packer(), h.event(nilUIDv1, true, false))
}

func (v1Gen) batch(dst, body []byte) []byte {
	return append(append(dst, v1Unwrapped), body...)
}

func (g v1Gen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV1Wrapped(dst, g.f.packer(), v, cbID)
}

func (g v1Gen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV1Unwrapped(dst, g.f.packer(), v)
}

func (g v1Gen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV1Unwrapped(dst, g.f.packer(), IDTimeout)
}

func (g v1Gen) serverPing(dst []byte) ([]byte, error) {
	return appendV1Unwrapped(dst, g.f.packer(), IDWSPing)
}

func (g v1Gen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV1)
	if err != nil {
		return nil, err
	}
	return appendV1Wrapped(dst, g.f.packer(), ev, slot)
}

func (g v1Gen) parseServerFrame(frame []byte) (ServerFrame, error) {
	return serverFrameV1(frame, g.f.packer())
}
