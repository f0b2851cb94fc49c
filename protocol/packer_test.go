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
	for in, want := range map[string]error{"": ErrBadMarker, "x[]": ErrBadMarker, "e[:a/b]": ErrEDNNotSupported} {
		if _, err := (FlexiPacker{}).Unpack([]byte(in)); !errors.Is(err, want) {
			t.Errorf("Unpack(%q) error %v, want %v", in, err, want)
		}
	}
	if got := ErrEDNNotSupported.Error(); got != "protocol: EDN not supported yet" {
		t.Errorf("ErrEDNNotSupported = %q", got)
	}
}
