package edn

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxErrLen bounds the message of an error about a malformed input of any
// size: messages end up in logs (issue 13, "Logs as a weapon").
const maxErrLen = 1024

// TestSyntaxErrorSize decodes malformed inputs of about 1 MiB whose bad
// part is most of the input and checks that the error quotes only a
// bounded part.
func TestSyntaxErrorSize(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	digits := strings.Repeat("1", 1<<20)
	vec := "[" + strings.Repeat(`"abcdefgh" `, 1<<17) + "]"
	cases := []struct{ name, in string }{
		{"symbol", "a/" + big + "/b"},
		{"keyword", ":a/" + big + "/b"},
		{"auto-resolved keyword", "::" + big},
		{"number", digits + "x"},
		{"radix", "36r" + big + "!"},
		{"character", `\u` + big},
		{"octal character", `\o` + big},
		{"unsupported character", `\` + big},
		{"string", `"` + big},
		{"duplicate key", "{" + vec + " 1 " + vec + " 2}"},
		{"duplicate element", "#{" + vec + " " + vec + "}"},
		{"symbolic value", "##" + big},
		{"namespaced map", "#:" + big + "/x {}"},
		{"map odd", "{" + strings.Repeat(big[:1000]+" ", 1001) + "}"},
		{"inst", `#inst "` + big + `"`},
		{"uuid", `#uuid "` + big + `"`},
		{"unbalanced", strings.Repeat("[", 1000) + strings.Repeat("]", 1001)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(c.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if msg := err.Error(); len(msg) > maxErrLen || !utf8.ValidString(msg) {
				t.Errorf("message of %d bytes (valid UTF-8: %t): %.300s…", len(msg), utf8.ValidString(msg), msg)
			}
			if len(se.Msg) > maxErrLen {
				t.Errorf("Msg of %d bytes", len(se.Msg))
			}
		})
	}
}

// TestClipMsg checks the clipping of a SyntaxError message.
func TestClipMsg(t *testing.T) {
	if got := (&SyntaxError{Msg: "short", Offset: 3}).Error(); got != "edn: short at offset 3" {
		t.Errorf("Error() = %q", got)
	}
	got := (&SyntaxError{Msg: strings.Repeat("é", 5000)}).Error()
	if len(got) > maxMsg+64 || !utf8.ValidString(got) || !strings.HasSuffix(got, "… (message of 10000 bytes) at offset 0") {
		t.Errorf("Error() of a 10000-byte Msg = %.100s… (%d bytes)", got, len(got))
	}
	if got := clip(strings.Repeat("é", 100)); !utf8.ValidString(got) || len(got) > 84 {
		t.Errorf("clip = %q", got)
	}
}
