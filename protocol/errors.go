package protocol

import (
	"errors"
	"strings"
)

// Causes of a BadPackageError: the frame could not be unpacked at all. Sente
// answers such input with [:chsk/bad-package raw] (docs/protocol.md §9).
var (
	// ErrEmptyFrame is the cause for a frame of zero bytes.
	ErrEmptyFrame = errors.New("protocol: empty frame")
	// ErrUnknownPrefix is the cause for a frame whose first byte is none of
	// '+', '-' (envelope v1) or '[' (envelope v2).
	ErrUnknownPrefix = errors.New("protocol: unknown frame prefix")
	// ErrBadMarker is the cause for a v1 frame whose packer marker (the byte
	// after '+' or '-') is neither a flexi marker ('j', 'e') nor the start of
	// a vector or map ('[', '{').
	ErrBadMarker = errors.New("protocol: unknown packer marker")
	// ErrBadEnvelope is the cause for a frame that decoded but whose
	// envelope is not a vector of one or two elements ([x] or [x cb]).
	ErrBadEnvelope = errors.New("protocol: envelope is not a vector of 1 or 2 elements")
	// ErrBadCallback is the cause for a callback slot that is neither nil,
	// false, a non-empty string (a WebSocket cb-uuid), 0 nor :ajax (the Ajax
	// markers).
	ErrBadCallback = errors.New("protocol: invalid callback id")
)

// Causes of a BadEventError: the frame unpacked, but its value is not a
// Sente event. Sente delivers such a value as [:chsk/bad-event x] (docs/protocol.md §9).
var (
	// ErrNotVector is the cause for an event that is not a vector.
	ErrNotVector = errors.New("protocol: event is not a vector")
	// ErrEventLength is the cause for an event vector that does not have
	// exactly one or two elements.
	ErrEventLength = errors.New("protocol: event vector must have 1 or 2 elements")
	// ErrEventID is the cause for an event whose first element is not a
	// namespaced keyword such as :cmd/query.
	ErrEventID = errors.New("protocol: event id is not a namespaced keyword")
	// ErrReservedID is the cause for a push of an event in the chsk
	// namespace, which clients from 1.9 on reject in a push batch (docs/protocol.md §8).
	ErrReservedID = errors.New("protocol: event id in the reserved chsk namespace cannot be pushed")
)

var (
	// ErrUnknownGeneration is returned by the writers of the zero (or an
	// out-of-range) Generation, and of a Dialect with an invalid generation
	// or format.
	ErrUnknownGeneration = errors.New("protocol: unknown generation")
	// ErrUnknownFormat is returned by Format.PackBatch for an out-of-range
	// Format.
	ErrUnknownFormat = errors.New("protocol: unknown format")
	// ErrNoServerPing is returned by ServerPing for GenFlexi: 1.3–1.8
	// clients throw on a Sente server ping (docs/protocol.md §5.2); use a
	// WebSocket ping control frame instead.
	ErrNoServerPing = errors.New("protocol: this generation has no server ping")
	// ErrBadHandshake is returned by HandshakeFromValue for a value that is
	// not a handshake event [:chsk/handshake [uid csrf …]].
	ErrBadHandshake = errors.New("protocol: malformed handshake")
)

// BadPackageError reports a frame that could not be unpacked: empty, an
// unknown prefix or marker, malformed Transit or EDN, or an envelope of the
// wrong shape. It corresponds to Sente's :chsk/bad-package; the
// recommended handling is to drop a WebSocket frame and to answer an Ajax
// POST with HTTP 400 (docs/protocol.md §9).
type BadPackageError struct {
	// Generation is the generation the frame's first bytes revealed, or
	// GenUnknown if not even the prefix could be read.
	Generation Generation
	// Format is the format the frame's first bytes revealed, and in which
	// it failed (FormatTransit when the prefix could not be read).
	Format Format
	// Err is the cause: one of the ErrXxx values of this package
	// (ErrEmptyFrame, ErrUnknownPrefix, ErrBadMarker, ErrBadEnvelope,
	// ErrBadCallback) or an error of package transit or package edn.
	Err error
}

// Error returns "protocol: bad package: " followed by the cause.
func (e *BadPackageError) Error() string {
	return "protocol: bad package: " + strings.TrimPrefix(e.Err.Error(), "protocol: ")
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *BadPackageError) Unwrap() error { return e.Err }

// BadEventError reports a value that is not a valid Sente event: not a
// vector, not one or two elements, or an id that is not a namespaced
// keyword. For a client frame it corresponds to Sente's :chsk/bad-event
// (deliver [:chsk/bad-event Value] to the application if it wants it); for
// an event given to a writer it is a caller error.
type BadEventError struct {
	// Value is the offending value as decoded (or as given).
	Value any
	// Err is the cause: ErrNotVector, ErrEventLength, ErrEventID or
	// ErrReservedID.
	Err error
}

// Error returns "protocol: bad event: " followed by the cause.
func (e *BadEventError) Error() string {
	return "protocol: bad event: " + strings.TrimPrefix(e.Err.Error(), "protocol: ")
}

// Unwrap returns the cause, for errors.Is.
func (e *BadEventError) Unwrap() error { return e.Err }
