package protocol

import (
	"errors"
	"testing"

	"github.com/sente-go/sente/transit"
)

// TestFlexiPacker checks the markers of the flexi packer.
func TestFlexiPacker(t *testing.T) {
	b, err := FlexiPacker{}.AppendPack([]byte("+"), []any{transit.Keyword("a/b")})
	if err != nil || string(b) != `+j["~:a/b"]` {
		t.Errorf("AppendPack = %s, %v", b, err)
	}
	v, err := FlexiPacker{}.Unpack([]byte(`j["~:a/b"]`))
	if vec, ok := v.([]any); err != nil || !ok || len(vec) != 1 || vec[0] != transit.Keyword("a/b") {
		t.Errorf("Unpack = %#v, %v", v, err)
	}
	for in, want := range map[string]error{"": ErrBadMarker, "x[]": ErrBadMarker, "E[:a/b]": ErrBadMarker} {
		if _, err := (FlexiPacker{}).Unpack([]byte(in)); !errors.Is(err, want) {
			t.Errorf("Unpack(%q) error %v, want %v", in, err, want)
		}
	}
	// Whatever its Format, a flexi packer reads both markers.
	for _, p := range []FlexiPacker{{}, {Format: FormatEDN}} {
		for _, in := range []string{`j["~:a/b"]`, `e[:a/b]`} {
			v, err := p.Unpack([]byte(in))
			if vec, ok := v.([]any); err != nil || !ok || len(vec) != 1 || vec[0] != transit.Keyword("a/b") {
				t.Errorf("%+v.Unpack(%q) = %#v, %v", p, in, v, err)
			}
		}
	}
	b, err = FlexiPacker{Format: FormatEDN}.AppendPack([]byte("+"), []any{transit.Keyword("a/b"), "x"})
	if err != nil || string(b) != `+e[:a/b "x"]` {
		t.Errorf("EDN AppendPack = %s, %v", b, err)
	}
}
