package transit

import (
	"errors"
	"fmt"
	"reflect"
)

// SyntaxError reports malformed input: bad JSON, a bad Transit form, an
// unknown cache reference, or input past a DecoderOptions limit.
type SyntaxError struct {
	Msg    string // what is wrong, without the "transit: " prefix
	Offset int64  // byte offset in the input (in the stream, for a Decoder)
	Err    error  // an ErrXxx sentinel, or nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("transit: %s at offset %d", e.Msg, e.Offset)
}

// Unwrap returns the sentinel behind the error, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// UnmarshalTypeError reports a Transit value that does not fit the Go
// value it was decoded into.
type UnmarshalTypeError struct {
	Value string       // description of the Transit value ("string", "map", …)
	Type  reflect.Type // the Go type it could not be stored in
	Path  string       // where in the target, e.g. "Tweet.user.followers_count"
}

func (e *UnmarshalTypeError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("transit: cannot decode %s into %s at %s", e.Value, e.Type, e.Path)
	}
	return fmt.Sprintf("transit: cannot decode %s into %s", e.Value, e.Type)
}

// InvalidUnmarshalError reports a target that is not a non-nil pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "transit: UnmarshalInto(nil)"
	}
	return fmt.Sprintf("transit: UnmarshalInto(non-pointer or nil %s)", e.Type)
}

// UnsupportedTypeError reports a Go value the writer has no encoding for
// (channels, functions, complex numbers, …).
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("transit: unsupported type %v", e.Type)
}

var (
	// ErrTooDeep is wrapped by a SyntaxError when nesting exceeds MaxDepth.
	ErrTooDeep = errors.New("transit: nesting too deep")
	// ErrTooLarge is wrapped by a SyntaxError when a value exceeds
	// MaxValueBytes or a big number exceeds its digit limit.
	ErrTooLarge = errors.New("transit: value too large")
	// ErrBadOptions is returned for out-of-range options.
	ErrBadOptions = errors.New("transit: invalid options")
)
