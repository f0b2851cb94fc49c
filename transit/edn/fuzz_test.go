package edn

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sente-go/sente/transit"
)

// FuzzUnmarshal checks what every input must satisfy: Unmarshal never
// panics and does not modify its input; it fails only with a *SyntaxError;
// what it reads, Marshal writes, and the text reads back as an Equal value
// that writes to the same bytes; a Decoder reading the input one byte at a
// time agrees. Seeds are the corner cases, the malformed inputs, the EDN
// exemplars and the EDN golden frames; crashers found are kept under
// testdata/fuzz/FuzzUnmarshal as regression cases.
func FuzzUnmarshal(f *testing.F) {
	for _, c := range readCases {
		f.Add([]byte(c.in))
	}
	for _, c := range errorCases {
		f.Add([]byte(c.in))
	}
	files, _ := filepath.Glob(filepath.Join(exemplarDir, "*.edn"))
	golden, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "protocol", "*", "edn", "*.golden"))
	for _, file := range append(files, golden...) {
		if b, err := os.ReadFile(file); err == nil && len(b) < 4096 {
			if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
				b = bytes.TrimLeft(b[1:], "e") // the body of a v1 frame
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := string(data)
		v, err := Unmarshal(data)
		if string(data) != orig {
			t.Fatal("Unmarshal modified its input")
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Unmarshal(%q): error %T %v, want a *SyntaxError", data, err, err)
			}
			checkDecoderAgrees(t, data)
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Unmarshal(%q) = %#v, which does not write: %v", data, v, err)
		}
		v2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(v)) failed: %v\ninput: %q\noutput: %q", err, data, out)
		}
		if !transit.Equal(v, v2) {
			t.Fatalf("round trip changed the value:\ninput: %q\noutput: %q\n%#v\n%#v", data, out, v, v2)
		}
		if out2, err := Marshal(v2); err != nil || !bytes.Equal(out2, out) {
			t.Fatalf("second write differs: %q vs %q (%v)", out, out2, err)
		}
		checkDecoderAgrees(t, data)
	})
}
