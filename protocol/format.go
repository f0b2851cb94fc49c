package protocol

import (
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/transit/edn"
)

// Format is the packer format of a connection's frame bodies: Transit
// JSON or EDN (docs/protocol.md §3). Sente chooses one packer per server;
// a client's frames tell which it uses (ParseClientFrame reports it), so
// this package can answer each connection in its own. The zero value is
// FormatTransit. A Format is a plain value, safe for concurrent use.
type Format uint8

// The formats.
const (
	// FormatTransit is Sente's Transit packer: TransitPacker (1.9+), or
	// for GenFlexi the flexi packer (FlexiPacker), which writes 'j'
	// Transit JSON bodies and reads 'j' and 'e' (EDN) bodies.
	FormatTransit Format = iota
	// FormatEDN is EDN, Sente's default packer (EDNPacker), in every
	// generation: plain EDN bodies with no flexi marker.
	FormatEDN
)

// String returns "transit" or "edn".
func (f Format) String() string {
	switch f {
	case FormatTransit:
		return "transit"
	case FormatEDN:
		return "edn"
	}
	return "unknown format"
}

// Valid reports whether f is one of the named formats.
func (f Format) Valid() bool { return f <= FormatEDN }

// packer returns the packer of f's bodies without a flexi marker.
func (f Format) packer() Packer {
	if f == FormatEDN {
		return EDNPacker{}
	}
	return TransitPacker{}
}

// marshal returns the text of v in f, in a new slice of its own size.
func (f Format) marshal(v any) ([]byte, error) {
	if f == FormatEDN {
		return edn.Marshal(v)
	}
	return transit.Marshal(v)
}

// nilPairTail closes the v2 pair [x nil] after x: ",null]" in Transit
// JSON, " nil]" in EDN.
func (f Format) nilPairTail() string {
	if f == FormatEDN {
		return " nil]"
	}
	return ",null]"
}

// detectFormat tells the format of a frame body that starts with '[' or
// '{' (the v1 payload after its prefix, or a whole v2 frame), from the
// first byte after the leading run of '[', '{' and JSON whitespace:
//
//   - a byte that continues Transit JSON there ('"', '-', a digit, ']',
//     '}', or the start of "null", "true" or "false"), the end of the
//     body, or a byte outside printable ASCII: FormatTransit;
//   - any other printable ASCII byte: FormatEDN.
//
// A Sente event's first element is its id, so a Transit client frame
// continues with '"' ([["~:cmd/query",…]]) and an EDN one with ':'
// ([[:cmd/query …]]), which is never valid JSON: every well-formed frame
// is told right. A malformed frame is read with the format the rule gives
// and fails in it (garbage such as "[\x00" as Transit).
func detectFormat(b []byte) Format {
	i := 0
	for i < len(b) && (b[i] == '[' || b[i] == '{' || b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	if i == len(b) {
		return FormatTransit
	}
	switch c := b[i]; {
	case c == '"' || c == '-' || c == ']' || c == '}' || '0' <= c && c <= '9':
		return FormatTransit
	case c == 'n' || c == 't' || c == 'f':
		for _, lit := range [...]string{"null", "true", "false"} {
			if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
				return FormatTransit
			}
		}
	case c < 0x21 || c > 0x7E:
		return FormatTransit
	}
	return FormatEDN
}

// Dialect is the complete wire variant of a connection: its Generation
// (envelope and protocol rules) and its Format (packer). Its methods write
// and read the frames of that variant, as the methods of Generation do for
// Transit: Generation g's methods are those of Dialect{Generation: g}.
//
//	Dialect{GenFlexi, FormatEDN}    -[:chsk/handshake ["uid" "tok"]]          +[[:cmd/query {:q "clojure"}] "a1b2c3"]
//	Dialect{GenV1, FormatEDN}       -[:chsk/handshake ["uid" "tok"]]          +[[:cmd/query {:q "clojure"}] "a1b2c3"]
//	Dialect{GenV2Mixed, FormatEDN}  [[:chsk/handshake ["uid" nil]]]           [[:cmd/query {:q "clojure"}] "a1b2c3"]
//	Dialect{GenV2, FormatEDN}       [[:chsk/handshake ["uid" nil nil]] nil]   [[:cmd/query {:q "clojure"}] "a1b2c3"]
//
// A 1.3–1.8 client with Sente's default EDN packer (not the flexi packer)
// is Dialect{GenFlexi, FormatEDN}: it writes and reads the same plain EDN
// frames as a 1.9–1.17 one, but must not get :chsk/timeout on an idle poll
// (the empty batch "-[]" instead) nor a server ping. Its frames alone do not
// tell it from a 1.9–1.17 client (ParseClientFrame reports "+[…" EDN as
// GenV1); the Ajax "_" parameter does (DetectAjax → GenFlexi), see
// ClientFrame.GenerationIn. A 1.3–1.8 flexi packer configured for EDN
// writes "+e[…]" but reads 'j' bodies too: it is FormatTransit.
//
// The zero Dialect has GenUnknown and is rejected by every writer with
// ErrUnknownGeneration. A Dialect is a plain value, safe for concurrent
// use.
type Dialect struct {
	Generation Generation
	Format     Format
}

// String returns the generation and the format, such as
// "v1 (1.9-1.17), edn".
func (d Dialect) String() string { return d.Generation.String() + ", " + d.Format.String() }

// Valid reports whether both the generation and the format are named ones.
func (d Dialect) Valid() bool { return d.Generation.Valid() && d.Format.Valid() }

// Packer returns the packer of d's frame bodies: FlexiPacker for GenFlexi
// in Transit, TransitPacker or EDNPacker otherwise (1.3–1.8 EDN clients use
// Sente's plain EDN packer), nil for an invalid dialect.
func (d Dialect) Packer() Packer {
	if !d.Valid() {
		return nil
	}
	if d.Generation == GenFlexi && d.Format == FormatTransit {
		return FlexiPacker{}
	}
	return d.Format.packer()
}

// impl returns the implementation of d, or nil for an invalid d.
func (d Dialect) impl() generationImpl {
	if !d.Format.Valid() {
		return nil
	}
	switch d.Generation {
	case GenFlexi:
		return flexiGen{d.Format}
	case GenV1:
		return v1Gen{d.Format}
	case GenV2Mixed:
		return v2MixedGen{d.Format}
	case GenV2:
		return v2Gen{d.Format}
	}
	return nil
}
