package protocol

import "github.com/sente-go/sente/transit"

// Callback is the callback slot of a client frame: whether, and how, the
// client waits for a reply (docs/protocol.md §3). The zero value asks for
// no reply.
type Callback struct {
	// ID is the cb-uuid of a WebSocket callback (6 characters from a real
	// client, e.g. "a1b2c3"); the reply must echo it. Empty for none.
	ID string
	// Ajax is set for an Ajax POST callback, whose wire marker is 0
	// (≤1.20) or :ajax (1.21+); the reply is the POST response body.
	Ajax bool
}

// Requested reports whether the client waits for a reply.
func (c Callback) Requested() bool { return c.ID != "" || c.Ajax }

// Ajax callback markers on the wire (docs/protocol.md §3.1, §3.4).
const (
	// ajaxMarkerV1 is the marker of 1.3–1.20 clients: the number 0.
	ajaxMarkerV1 = int64(0)
	// ajaxMarkerV2 is the marker of 1.21+ clients: the keyword :ajax.
	ajaxMarkerV2 = transit.Keyword("ajax")
)

// slot returns the wire value of c: nil, the cb-uuid, or ajaxMarker. A
// callback with both an ID and Ajax set is ErrBadCallback.
func (c Callback) slot(ajaxMarker any) (any, error) {
	switch {
	case c.ID != "" && c.Ajax:
		return nil, ErrBadCallback
	case c.Ajax:
		return ajaxMarker, nil
	case c.ID != "":
		return c.ID, nil
	}
	return nil, nil
}

// parseCallback reads a callback slot. Like Sente, nil and false mean no
// callback; a non-empty string is a WebSocket cb-uuid; 0 and :ajax are the
// Ajax markers of either generation. Anything else, although truthy to
// Sente, is no real client's and is ErrBadCallback.
func parseCallback(slot any) (Callback, error) {
	switch s := slot.(type) {
	case nil:
		return Callback{}, nil
	case bool:
		if !s {
			return Callback{}, nil
		}
	case string:
		if s != "" {
			return Callback{ID: s}, nil
		}
	case int64:
		if s == ajaxMarkerV1 {
			return Callback{Ajax: true}, nil
		}
	case transit.Keyword:
		if s == ajaxMarkerV2 {
			return Callback{Ajax: true}, nil
		}
	}
	return Callback{}, ErrBadCallback
}
