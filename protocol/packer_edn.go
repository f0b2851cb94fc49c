package protocol

import "github.com/sente-go/sente/transit/edn"

// EDNPacker is Sente's default packer (the packer of make-channel-socket!
// unless one is given, in every release): the body is EDN as Clojure's
// pr-str prints it, such as [:chsk/handshake ["uid" "tok"]] or
// {:a 1, :b 2}, read with package edn. Its zero value is ready to use and
// safe for concurrent use.
type EDNPacker struct{}

var _ Packer = EDNPacker{}

// AppendPack appends the EDN text of v to dst. A value EDN cannot express
// (a transit.URI, bytes, an unreadable keyword, …) returns an
// *edn.UnsupportedValueError.
func (EDNPacker) AppendPack(dst []byte, v any) ([]byte, error) {
	return edn.AppendMarshal(dst, v)
}

// Unpack decodes EDN text. Errors are those of package edn
// (*edn.SyntaxError for malformed input).
func (EDNPacker) Unpack(data []byte) (any, error) {
	return edn.Unmarshal(data)
}
