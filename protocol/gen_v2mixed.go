package protocol

// v2MixedGen is GenV2Mixed, Sente 1.18–1.20 (docs/protocol.md §3.4, §3.6,
// §13): envelope v2 written as [x] without callback and [x cb] with one;
// these clients read v1 and v2 frames, send the Ajax marker 0, ping with a
// callback and expect "pong".
//
//	handshake       [["~:chsk/handshake",["<uid>",null]]]         [[:chsk/handshake ["<uid>" nil]]]
//	push batch      [[["~:tweet/new",…],…]]                        [[[:tweet/new …] …]]
//	WS reply        [<reply>,"a1b2c3"]                             [<reply> "a1b2c3"]
//	Ajax reply      [<reply>]                                      [<reply>]
//	Ajax no cb      ["~:chsk/dummy-cb-200"]                        [:chsk/dummy-cb-200]
//	idle poll       ["~:chsk/timeout"]                             [:chsk/timeout]
//	server ping     ["~:chsk/ws-ping"]                             [:chsk/ws-ping]
//	pong            ["pong","k9m2p1"]                              ["pong" "k9m2p1"]
//	client frames   [ev] [ev,"a1b2c3"] [ev,0]                      [ev] [ev "a1b2c3"] [ev 0]
type v2MixedGen struct{ f Format }

var _ generationImpl = v2MixedGen{}

func (g v2MixedGen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV2(dst, g.f.packer(), h.event(nilUIDv2, false, false), nil, false)
}

func (v2MixedGen) batch(dst, body []byte) []byte {
	return append(append(append(dst, v2Start), body...), ']')
}

func (g v2MixedGen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV2(dst, g.f.packer(), v, cbID, false)
}

func (g v2MixedGen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV2(dst, g.f.packer(), v, nil, false)
}

func (g v2MixedGen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV2(dst, g.f.packer(), IDTimeout, nil, false)
}

func (g v2MixedGen) serverPing(dst []byte) ([]byte, error) {
	return appendV2(dst, g.f.packer(), IDWSPing, nil, false)
}

func (g v2MixedGen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV1)
	if err != nil {
		return nil, err
	}
	return appendV2(dst, g.f.packer(), ev, slot, false)
}

// parseServerFrame reads v2 and, like these clients, v1.
func (g v2MixedGen) parseServerFrame(frame []byte) (ServerFrame, error) {
	if len(frame) > 0 && frame[0] == v2Start {
		return serverFrameV2(frame, g.f.packer())
	}
	return serverFrameV1(frame, g.f.packer())
}
