package edn

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/sente-go/sente/transit/internal/textclip"
)

// maxMsg bounds a SyntaxError message (clipMsg): error messages end up in
// logs, and the malformed part of an input may be as large as the input.
// The parts of the input a message quotes are clipped to fewer bytes
// still (clip).
const maxMsg = 512

// SyntaxError reports malformed EDN: a bad token, an unknown escape, an
// unbalanced delimiter, a duplicate map key or set element, or input past
// a DecoderOptions limit.
type SyntaxError struct {
	Msg    string // what is wrong, without the "edn: " prefix
	Offset int64  // byte offset in the input (in the stream, for a Decoder)
	Err    error  // ErrTooDeep or ErrTooLarge, or nil
}

// Error returns "edn: " followed by Msg, clipped to maxMsg bytes, and the
// offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("edn: %s at offset %d", clipMsg(e.Msg), e.Offset)
}

// Unwrap returns the sentinel behind the error, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// UnsupportedValueError reports a value the writer cannot express as EDN
// that reads back as the same value: a keyword or symbol whose text is not
// a readable token, an invalid character, an instant outside the years
// 0000-9999, a URI, bytes, a link, or a Go type with no EDN form.
type UnsupportedValueError struct {
	Value  any    // the offending value
	Reason string // why it cannot be written
}

func (e *UnsupportedValueError) Error() string {
	switch reflect.ValueOf(e.Value).Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return fmt.Sprintf("edn: cannot write %T %s: %s", e.Value, clip(fmt.Sprintf("%#v", e.Value)), e.Reason)
	}
	// A composite value may be huge or cyclic: name its type only.
	return fmt.Sprintf("edn: cannot write %s: %s", describeType(e.Value), e.Reason)
}

// clip shortens s for an error message: its first 80 bytes (cut on a rune
// boundary) and an ellipsis.
func clip(s string) string {
	const maxLen = 80
	if p := textclip.Prefix(s, maxLen); len(p) < len(s) {
		return p + "…"
	}
	return s
}

// clipMsg returns msg if it has at most maxMsg bytes, else its first
// maxMsg bytes (cut on a rune boundary), an ellipsis and its length.
func clipMsg(msg string) string { return textclip.Message(msg, maxMsg) }

var (
	// ErrTooDeep is wrapped by a SyntaxError when nesting exceeds MaxDepth.
	ErrTooDeep = errors.New("edn: nesting too deep")
	// ErrTooLarge is wrapped by a SyntaxError when a value exceeds
	// MaxValueBytes or a number exceeds its digit limit.
	ErrTooLarge = errors.New("edn: value too large")
	// ErrBadOptions is returned for out-of-range options.
	ErrBadOptions = errors.New("edn: invalid options")
)

// describeType names the Go type of v for an error message.
func describeType(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}
