package protocol

// Envelope v2 (Sente 1.17+ reads it, 1.18+ writes it, 1.21+ knows nothing
// else; docs/protocol.md §3.4): no prefix, the packed value is the wrapper
// vector itself, [x] or [x cb] (1.18–1.20) or always [x cb-or-nil] (1.21+).

// v2Start is the first byte of every v2 frame: the wrapper vector's '['.
const v2Start = '['

// appendV2 appends p's packing of [x cb], or of [x] when cb is nil and pair
// is false.
func appendV2(dst []byte, p Packer, x, cb any, pair bool) ([]byte, error) {
	w := []any{x}
	if pair || cb != nil {
		w = append(w, cb)
	}
	return p.AppendPack(dst, w)
}

// unwrapV2 reads a v2 frame with packer p: x is the message, slot the raw
// callback element (nil if absent) and n the length of the wrapper (1 or
// 2). Errors are causes for a BadPackageError.
func unwrapV2(frame []byte, p Packer) (x, slot any, n int, err error) {
	if len(frame) == 0 {
		return nil, nil, 0, ErrEmptyFrame
	}
	if frame[0] != v2Start {
		return nil, nil, 0, ErrUnknownPrefix
	}
	v, err := p.Unpack(frame)
	if err != nil {
		return nil, nil, 0, err
	}
	x, slot, err = unwrapVector(v)
	if err != nil {
		return nil, nil, 0, err
	}
	return x, slot, len(v.([]any)), nil
}
