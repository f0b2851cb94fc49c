package transit

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addSeeds adds the project's golden files and the official exemplars.
func addSeeds(f *testing.F, verbose bool) {
	pattern := "*[^e].json" // not *.verbose.json
	if verbose {
		pattern = "*.verbose.json"
	}
	for _, dir := range []string{filepath.Join("..", "testdata", "transit"), exemplarDir} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 4096 {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{`["^ ","~:a",["^0",1]]`, `["~#set",[["^0",[1]]]]`, `{"~#cmap":[[1],2]}`, `["~#'",1]`, `"\ud83d"`} {
		f.Add([]byte(s))
	}
}

// fuzzRoundTrip checks what every decodable input must satisfy: writing
// the value succeeds, and reading the written text gives an equal value
// that writes to the same bytes.
func fuzzRoundTrip(t *testing.T, data []byte, verbose bool) {
	orig := string(data)
	v, err := Unmarshal(data)
	if string(data) != orig {
		t.Fatal("Unmarshal modified its input")
	}
	if err != nil {
		return
	}
	opts := EncoderOptions{Verbose: verbose}
	out, err := opts.Marshal(v)
	if err != nil {
		// Every value the reader returns must write: a value that
		// reads but does not write is a codec bug, not an input to skip.
		t.Fatalf("Unmarshal(%q) = %#v, which does not write: %v", data, v, err)
	}
	v2, err := Unmarshal(out)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal(v)) failed: %v\ninput: %q\noutput: %q", err, data, out)
	}
	if !Equal(v, v2) {
		t.Fatalf("round trip changed the value:\ninput: %q\noutput: %q\n%#v\n%#v", data, out, v, v2)
	}
	out2, err := opts.Marshal(v2)
	if err != nil || string(out2) != string(out) {
		t.Fatalf("second write differs: %q vs %q (%v)", out, out2, err)
	}
}

func FuzzUnmarshalJSON(f *testing.F) {
	addSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzInto(t, data)
		fuzzRoundTrip(t, data, false)
	})
}

// fuzzInto checks that decoding straight into a struct agrees with
// Unmarshal followed by Assign.
func fuzzInto(t *testing.T, data []byte) {
	var direct, viaAssign intoTarget
	errDirect := UnmarshalInto(data, &direct)
	x, err := Unmarshal(data)
	if err == nil {
		err = Assign(&viaAssign, x)
	}
	if (errDirect == nil) != (err == nil) {
		t.Fatalf("UnmarshalInto error %v, Unmarshal+Assign error %v, input %q", errDirect, err, data)
	}
	if err == nil && !reflect.DeepEqual(direct, viaAssign) {
		t.Fatalf("UnmarshalInto = %+v, Unmarshal+Assign = %+v, input %q", direct, viaAssign, data)
	}
}

func FuzzUnmarshalVerbose(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip(t, data, true) })
}
