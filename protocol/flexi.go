package protocol

// Flexi packer markers: the byte that starts a flexi body.
const (
	// flexiJSON marks a Transit JSON body; the only one a :json flexi
	// packer writes (docs/protocol.md §3.2).
	flexiJSON = 'j'
	// flexiEDN marks an EDN body, which every flexi packer reads.
	flexiEDN = 'e'
)

// FlexiPacker is the Transit "flexi" packer of Sente 1.3–1.8
// (get-flexi-packer): a marker byte, 'j' for Transit JSON or 'e' for EDN,
// then the body. It writes the marker of its Format: 'j' for the zero
// value (what a :json flexi packer, the only kind BirdWatch-era clients
// use, always writes), 'e' for FormatEDN. It reads both markers whatever
// its Format, as every flexi packer does. It is safe for concurrent use.
type FlexiPacker struct {
	// Format is the format written: FormatTransit (the zero value) or
	// FormatEDN.
	Format Format
}

var _ Packer = FlexiPacker{}

// AppendPack appends the marker and the body of v: 'j' and Transit JSON,
// or 'e' and EDN.
func (p FlexiPacker) AppendPack(dst []byte, v any) ([]byte, error) {
	marker := byte(flexiJSON)
	if p.Format == FormatEDN {
		marker = flexiEDN
	}
	return p.Format.packer().AppendPack(append(dst, marker), v)
}

// Unpack reads a marked body: 'j' then Transit JSON, or 'e' then EDN. Any
// other first byte (or none) is ErrBadMarker.
func (FlexiPacker) Unpack(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, ErrBadMarker
	}
	switch data[0] {
	case flexiJSON:
		return TransitPacker{}.Unpack(data[1:])
	case flexiEDN:
		return EDNPacker{}.Unpack(data[1:])
	}
	return nil, ErrBadMarker
}
