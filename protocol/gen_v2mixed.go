package protocol

// v2MixedGen is GenV2Mixed, Sente 1.18–1.20 (sente-protocol.md §3.4, §3.6,
// §13): envelope v2 written as [x] without callback and [x cb] with one;
// these clients read v1 and v2 frames, send the Ajax marker 0, ping with a
// callback and expect "pong".
//
//	handshake       [["~:chsk/handshake",["<uid>",null]]]
//	push batch      [[["~:tweet/new",…],…]]
//	WS reply        [<reply>,"a1b2c3"]
//	Ajax reply      [<reply>]
//	Ajax no cb      ["~:chsk/dummy-cb-200"]
//	idle poll       ["~:chsk/timeout"]
//	server ping     ["~:chsk/ws-ping"]
//	pong            ["pong","k9m2p1"]
//	client frames   [ev] [ev,"a1b2c3"] [ev,0]
type v2MixedGen struct{}

var _ dialect = v2MixedGen{}

func (v2MixedGen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, h.event(nilUIDv2, false, false), nil, false)
}

func (v2MixedGen) batch(dst, body []byte) []byte {
	return append(append(append(dst, v2Start), body...), ']')
}

func (v2MixedGen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, v, cbID, false)
}

func (v2MixedGen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, v, nil, false)
}

func (v2MixedGen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, IDTimeout, nil, false)
}

func (v2MixedGen) serverPing(dst []byte) ([]byte, error) {
	return appendV2(dst, TransitPacker{}, IDWSPing, nil, false)
}

func (v2MixedGen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV1)
	if err != nil {
		return nil, err
	}
	return appendV2(dst, TransitPacker{}, ev, slot, false)
}

// parseServerFrame reads v2 and, like these clients, v1.
func (v2MixedGen) parseServerFrame(frame []byte) (ServerFrame, error) {
	if len(frame) > 0 && frame[0] == v2Start {
		return serverFrameV2(frame)
	}
	return serverFrameV1(frame, TransitPacker{})
}
