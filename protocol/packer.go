package protocol

import "github.com/sente-go/sente/transit"

// Packer turns one value into the text of a frame body and back: the layer
// below the envelope (docs/protocol.md §3). Sente calls it the packer; the
// envelope adds the callback id and, in v1, a '+' or '-' prefix.
//
// Implementations in this package are TransitPacker (Sente 1.9+),
// EDNPacker (Sente's default, every release) and FlexiPacker (1.3–1.8). The
// binary packers of 1.21 would implement the same interface.
// Implementations must be safe for concurrent use and must not retain data
// or dst.
type Packer interface {
	// AppendPack appends the packed form of v to dst and returns the
	// extended slice.
	AppendPack(dst []byte, v any) ([]byte, error)
	// Unpack decodes the packed form of exactly one value.
	Unpack(data []byte) (any, error)
}

// TransitPacker is Sente's plain Transit JSON packer (get-transit-packer,
// 1.9+; get-packer in 1.21): the body is Transit JSON, written with the
// cache, read in either JSON or JSON-verbose. Its zero value is ready to
// use and safe for concurrent use.
type TransitPacker struct{}

var _ Packer = TransitPacker{}

// AppendPack appends the Transit JSON of v to dst.
func (TransitPacker) AppendPack(dst []byte, v any) ([]byte, error) {
	return transit.AppendMarshal(dst, v)
}

// Unpack decodes Transit JSON or JSON-verbose text. Errors are those of
// package transit (*transit.SyntaxError for malformed input).
func (TransitPacker) Unpack(data []byte) (any, error) {
	return transit.Unmarshal(data)
}
