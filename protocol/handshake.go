package protocol

import "github.com/sente-go/sente/transit"

// Handshake is the content of the first frame the server sends on every
// WebSocket and on a handshake poll: the event
// [:chsk/handshake [uid csrf-token handshake-data]] (docs/protocol.md §4).
// How many of the three elements go on the wire depends on the generation.
// The zero value is the handshake of the nil uid, without token or data.
type Handshake struct {
	// UID is the user id the server assigned, written as a Transit string.
	// Empty means no uid: Sente then sends its placeholder keyword,
	// :taoensso.sente/nil-uid (≤1.17) or :sente/nil-uid (1.18+).
	UID string
	// CSRFToken is handed to GenFlexi and GenV1 clients, which 1.3–1.13
	// echo in their POSTs (1.14+ ignore it). Empty is written as nil. The
	// v2 generations always get nil, as from the reference server since
	// 1.14: the token must not travel in the handshake (docs/protocol.md §2.4).
	CSRFToken string
	// Data is the optional handshake-data (1.4+). Nil means absent: two
	// elements, except for GenV2, which always sends three.
	Data any
}

// Placeholders Sente sends in the uid slot when the uid is nil.
const (
	nilUIDv1 = transit.Keyword("taoensso.sente/nil-uid") // ≤1.17
	nilUIDv2 = transit.Keyword("sente/nil-uid")          // 1.18+
)

// event returns the handshake event vector. nilUID stands for an empty UID;
// withToken says whether CSRFToken is sent; threeSlots forces the data slot.
func (h Handshake) event(nilUID transit.Keyword, withToken, threeSlots bool) []any {
	var uid any = h.UID
	if h.UID == "" {
		uid = nilUID
	}
	var token any
	if withToken && h.CSRFToken != "" {
		token = h.CSRFToken
	}
	args := []any{uid, token}
	if threeSlots || h.Data != nil {
		args = append(args, h.Data)
	}
	return []any{IDHandshake, args}
}

// HandshakeFromValue reads a handshake event as decoded from a server frame
// (ServerFrame.Value): [:chsk/handshake [uid token data]], the token and
// data optional. A placeholder keyword uid gives an empty UID. Any other
// shape is ErrBadHandshake.
func HandshakeFromValue(v any) (Handshake, error) {
	ev, err := EventFromValue(v)
	if err != nil || ev.ID != IDHandshake {
		return Handshake{}, ErrBadHandshake
	}
	args, ok := ev.Data.([]any)
	if !ok || len(args) < 1 {
		return Handshake{}, ErrBadHandshake
	}
	var h Handshake
	switch uid := args[0].(type) {
	case string:
		h.UID = uid
	case transit.Keyword:
		if uid != nilUIDv1 && uid != nilUIDv2 {
			return Handshake{}, ErrBadHandshake
		}
	default:
		return Handshake{}, ErrBadHandshake
	}
	if len(args) > 1 {
		switch tok := args[1].(type) {
		case nil:
		case string:
			h.CSRFToken = tok
		default:
			return Handshake{}, ErrBadHandshake
		}
	}
	if len(args) > 2 {
		h.Data = args[2]
	}
	return h, nil
}
