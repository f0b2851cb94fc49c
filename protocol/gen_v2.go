package protocol

// v2Gen is GenV2, Sente 1.21+ (sente-protocol.md §3.4, §3.6): envelope v2
// always as the pair [x cb-or-nil]; the only format these clients read. The
// Ajax marker is :ajax; the handshake always has three elements.
//
//	handshake       [["~:chsk/handshake",["<uid>",null,null]],null]
//	push batch      [[["~:tweet/new",…],…],null]
//	WS reply        [<reply>,"a1b2c3"]
//	Ajax reply      [<reply>,null]
//	Ajax no cb      ["~:chsk/dummy-cb-200",null]
//	idle poll       ["~:chsk/timeout",null]
//	server ping     ["~:chsk/ws-ping",null]
//	pong            ["pong","k9m2p1"]
//	client frames   [ev,null] [ev,"a1b2c3"] [ev,"~:ajax"]
type v2Gen struct{}

var _ dialect = v2Gen{}

func (v2Gen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, h.event(nilUIDv2, false, true), nil, true)
}

func (v2Gen) batch(dst, body []byte) []byte {
	return append(append(append(dst, v2Start), body...), ",null]"...)
}

func (v2Gen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, v, cbID, true)
}

func (v2Gen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, v, nil, true)
}

func (v2Gen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, IDTimeout, nil, true)
}

func (v2Gen) serverPing(dst []byte) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, IDWSPing, nil, true)
}

func (v2Gen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV2)
	if err != nil {
		return nil, err
	}
	return appendV2(dst, TransitPacker{}, ev, slot, true)
}

func (v2Gen) parseServerFrame(frame []byte) (ServerFrame, error) {
	return serverFrameV2(frame)
}
