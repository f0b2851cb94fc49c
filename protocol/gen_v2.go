package protocol

// v2Gen is GenV2, Sente 1.21+ (docs/protocol.md §3.4, §3.6): envelope v2
// always as the pair [x cb-or-nil]; the only format these clients read. The
// Ajax marker is :ajax; the handshake always has three elements.
//
//	handshake       [["~:chsk/handshake",["<uid>",null,null]],null]   [[:chsk/handshake ["<uid>" nil nil]] nil]
//	push batch      [[["~:tweet/new",…],…],null]                       [[[:tweet/new …] …] nil]
//	WS reply        [<reply>,"a1b2c3"]                                 [<reply> "a1b2c3"]
//	Ajax reply      [<reply>,null]                                     [<reply> nil]
//	Ajax no cb      ["~:chsk/dummy-cb-200",null]                       [:chsk/dummy-cb-200 nil]
//	idle poll       ["~:chsk/timeout",null]                            [:chsk/timeout nil]
//	server ping     ["~:chsk/ws-ping",null]                            [:chsk/ws-ping nil]
//	pong            ["pong","k9m2p1"]                                  ["pong" "k9m2p1"]
//	client frames   [ev,null] [ev,"a1b2c3"] [ev,"~:ajax"]              [ev nil] [ev "a1b2c3"] [ev :ajax]
type v2Gen struct{ f Format }

var _ generationImpl = v2Gen{}

func (g v2Gen) handshake(dst []byte, h Handshake) ([]byte, error) {
	return appendV2(dst, g.f.packer(), h.event(nilUIDv2, false, true), nil, true)
}

func (g v2Gen) batch(dst, body []byte) []byte {
	return append(append(append(dst, v2Start), body...), g.f.nilPairTail()...)
}

func (g v2Gen) callbackReply(dst []byte, v any, cbID string) ([]byte, error) {
	return appendV2(dst, g.f.packer(), v, cbID, true)
}

func (g v2Gen) ajaxReply(dst []byte, v any) ([]byte, error) {
	return appendV2(dst, g.f.packer(), v, nil, true)
}

func (g v2Gen) pollTimeout(dst []byte) ([]byte, error) {
	return appendV2(dst, g.f.packer(), IDTimeout, nil, true)
}

func (g v2Gen) serverPing(dst []byte) ([]byte, error) {
	return appendV2(dst, g.f.packer(), IDWSPing, nil, true)
}

func (g v2Gen) clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error) {
	slot, err := cb.slot(ajaxMarkerV2)
	if err != nil {
		return nil, err
	}
	return appendV2(dst, g.f.packer(), ev, slot, true)
}

func (g v2Gen) parseServerFrame(frame []byte) (ServerFrame, error) {
	return serverFrameV2(frame, g.f.packer())
}
