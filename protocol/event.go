package protocol

import "github.com/sente-go/sente/transit"

// Event is a Sente event: the vector [id] or [id data], where id is a
// namespaced keyword such as :tweet/new.
//
// An Event is written as [id data] when HasData is set or Data is not nil,
// and as [id] otherwise, so Event{ID: "tweet/new", Data: m} and
// Event{ID: "chsk/ws-ping"} need no flag; HasData is only needed for the
// rare [id nil]. Events parsed from frames have HasData set exactly when the
// vector had two elements, so that writing them back reproduces the frame.
//
// The zero Event has no id and is invalid. An Event is plain data, safe for
// concurrent reads as long as Data is not mutated.
type Event struct {
	// ID is the event id, a keyword with a namespace ("cmd/query").
	ID transit.Keyword
	// Data is the optional payload, any value of the transit value model.
	Data any
	// HasData forces the two-element form even when Data is nil.
	HasData bool
}

// NewEvent returns the two-element event [id data], even when data is nil.
func NewEvent(id transit.Keyword, data any) Event {
	return Event{ID: id, Data: data, HasData: true}
}

// Value returns the event as the vector Sente writes: []any{id} or
// []any{id, data}.
func (e Event) Value() []any {
	if e.HasData || e.Data != nil {
		return []any{e.ID, e.Data}
	}
	return []any{e.ID}
}

// Validate checks the event by Sente's rules (validate-event): the id must
// be a keyword with a non-empty namespace and name. It returns a
// *BadEventError wrapping ErrEventID otherwise.
func (e Event) Validate() error {
	if !validID(e.ID) {
		return &BadEventError{Value: e.Value(), Err: ErrEventID}
	}
	return nil
}

// validID reports whether id is namespaced: "ns/name", with neither part
// empty. The namespace ends at the first '/', as on the JVM.
func validID(id transit.Keyword) bool {
	return id.Namespace() != "" && id.Name() != ""
}

// EventFromValue converts a decoded value into an Event, checking it by
// Sente's rules: a vector ([]any) of one or two elements whose first element
// is a namespaced keyword. Otherwise it returns a *BadEventError whose Value
// is v and whose cause is ErrNotVector, ErrEventLength or ErrEventID.
func EventFromValue(v any) (Event, error) {
	vec, ok := v.([]any)
	if !ok {
		return Event{}, &BadEventError{Value: v, Err: ErrNotVector}
	}
	if len(vec) != 1 && len(vec) != 2 {
		return Event{}, &BadEventError{Value: v, Err: ErrEventLength}
	}
	id, ok := vec[0].(transit.Keyword)
	if !ok || !validID(id) {
		return Event{}, &BadEventError{Value: v, Err: ErrEventID}
	}
	if len(vec) == 1 {
		return Event{ID: id}, nil
	}
	return Event{ID: id, Data: vec[1], HasData: true}, nil
}

// Event ids with a meaning to Sente itself.
const (
	// IDHandshake is the id of the handshake the server sends first.
	IDHandshake transit.Keyword = "chsk/handshake"
	// IDWSPing is the id of the keep-alive ping, sent by clients (as an
	// event) and by 1.9+ servers (as a bare keyword or a v2 value).
	IDWSPing transit.Keyword = "chsk/ws-ping"
	// IDWSPong is the id of a 1.19+ client's answer to a server ping.
	IDWSPong transit.Keyword = "chsk/ws-pong"
	// IDTimeout is the value a 1.9+ server sends to end an idle poll or an
	// unanswered Ajax callback.
	IDTimeout transit.Keyword = "chsk/timeout"
	// IDDummyReply is the reply to an Ajax POST that asked for no callback.
	IDDummyReply transit.Keyword = "chsk/dummy-cb-200"
	// IDBadPackage is the id under which Sente delivers an unreadable frame
	// to the application: [:chsk/bad-package raw].
	IDBadPackage transit.Keyword = "chsk/bad-package"
	// IDBadEvent is the id under which Sente delivers a value that is not
	// an event to the application: [:chsk/bad-event x].
	IDBadEvent transit.Keyword = "chsk/bad-event"
)

// reservedNamespace is the namespace of Sente's own events; clients from
// 1.9 on reject pushed events in it (docs/protocol.md §8).
const reservedNamespace = "chsk"
