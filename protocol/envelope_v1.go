package protocol

// Envelope v1 (Sente ≤1.17 writes it, ≤1.20 reads it; docs/protocol.md
// §3.1): a prefix byte, then the packed value. '-' means the value is the
// whole message; '+' means the value is [x] or [x cb].
const (
	v1Unwrapped = '-'
	v1Wrapped   = '+'
)

// appendV1Unwrapped appends "-" and p's packing of x.
func appendV1Unwrapped(dst []byte, p Packer, x any) ([]byte, error) {
	return p.AppendPack(append(dst, v1Unwrapped), x)
}

// appendV1Wrapped appends "+" and p's packing of [x] (cb nil) or [x cb].
func appendV1Wrapped(dst []byte, p Packer, x, cb any) ([]byte, error) {
	w := []any{x}
	if cb != nil {
		w = append(w, cb)
	}
	return p.AppendPack(append(dst, v1Wrapped), w)
}

// unwrapV1 reads a v1 frame with packer p: x is the message and slot the
// raw callback element (nil if absent). A '+' payload must be a vector of
// one or two elements. Errors are causes for a BadPackageError.
func unwrapV1(frame []byte, p Packer) (x, slot any, err error) {
	if len(frame) == 0 {
		return nil, nil, ErrEmptyFrame
	}
	prefix := frame[0]
	if prefix != v1Unwrapped && prefix != v1Wrapped {
		return nil, nil, ErrUnknownPrefix
	}
	v, err := p.Unpack(frame[1:])
	if err != nil {
		return nil, nil, err
	}
	if prefix == v1Unwrapped {
		return v, nil, nil
	}
	return unwrapVector(v)
}

// unwrapVector splits the wrapper vector [x] or [x cb] of both envelopes.
func unwrapVector(v any) (x, slot any, err error) {
	w, ok := v.([]any)
	if !ok || len(w) < 1 || len(w) > 2 {
		return nil, nil, ErrBadEnvelope
	}
	if len(w) == 2 {
		slot = w[1]
	}
	return w[0], slot, nil
}
