package textclip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrefixAndMessage(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ab✓cd", 3, "ab"}, // ✓ is 3 bytes: not cut inside it
		{"ab✓cd", 5, "ab✓"},
		{"✓", 0, ""},
	}
	for _, tt := range tests {
		if got := Prefix(tt.s, tt.n); got != tt.want {
			t.Errorf("Prefix(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	big := strings.Repeat("é", 1000)
	m := Message(big, 511)
	if !utf8.ValidString(m) || !strings.HasSuffix(m, "… (message of 2000 bytes)") || len(m) > 511+len("… (message of 2000 bytes)") {
		t.Errorf("Message = %q", m)
	}
	if Message("short", 10) != "short" {
		t.Error("Message of a short text")
	}
}
