package protocol

// Flexi packer markers: the byte that starts a flexi body.
const (
	// flexiJSON marks a Transit JSON body; the only one a :json flexi
	// packer writes (sente-protocol.md §3.2).
	flexiJSON = 'j'
	// flexiEDN marks an EDN body.
	flexiEDN = 'e'
)

// FlexiPacker is the Transit "flexi" packer of Sente 1.3–1.8
// (get-flexi-packer :json): a marker byte, 'j' for Transit JSON or 'e' for
// EDN, then the body. It always writes 'j' (a :json flexi packer can choose
// nothing else) and reads 'j'; an 'e' body fails with ErrEDNNotSupported
// until an EDN packer exists. Its zero value is ready to use and safe for
// concurrent use.
type FlexiPacker struct{}

var _ Packer = FlexiPacker{}

// AppendPack appends 'j' and the Transit JSON of v to dst.
func (FlexiPacker) AppendPack(dst []byte, v any) ([]byte, error) {
	return TransitPacker{}.AppendPack(append(dst, flexiJSON), v)
}

// Unpack reads a marked body: 'j' then Transit JSON. An 'e' body returns
// ErrEDNNotSupported, any other first byte (or none) ErrBadMarker.
func (FlexiPacker) Unpack(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, ErrBadMarker
	}
	switch data[0] {
	case flexiJSON:
		return TransitPacker{}.Unpack(data[1:])
	case flexiEDN:
		return nil, ErrEDNNotSupported
	}
	return nil, ErrBadMarker
}
