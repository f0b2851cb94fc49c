package transit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exemplarDir holds the official Transit conformance exemplars
// (docs/transit.md §13), copied into the repository
// (testdata/transit-exemplars/README.md says from where).
const exemplarDir = "../testdata/transit-exemplars"

// exemplarStems lists the stems that have both a .json and a .verbose.json.
func exemplarStems(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(exemplarDir, "*.verbose.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no exemplars in %s", exemplarDir)
	}
	var stems []string
	for _, f := range files {
		stems = append(stems, strings.TrimSuffix(filepath.Base(f), ".verbose.json"))
	}
	return stems
}

func readExemplar(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(exemplarDir, name))
	if err != nil {
		t.Fatal(err)
	}
	// example.json and example.verbose.json end with a newline; the
	// writer never writes one.
	return bytes.TrimSuffix(b, []byte("\n"))
}

// TestExemplars reads every exemplar in both encodings, checks that the
// two decode to equal values, and writes each back in both encodings:
// 2 × 67 same-encoding and 2 × 67 cross-encoding byte-exact round trips.
func TestExemplars(t *testing.T) {
	stems := exemplarStems(t)
	var same, cross, total int
	for _, stem := range stems {
		t.Run(stem, func(t *testing.T) {
			js := readExemplar(t, stem+".json")
			vb := readExemplar(t, stem+".verbose.json")
			vj, err := Unmarshal(js)
			if err != nil {
				t.Fatalf("Unmarshal(%s.json): %v", stem, err)
			}
			vv, err := Unmarshal(vb)
			if err != nil {
				t.Fatalf("Unmarshal(%s.verbose.json): %v", stem, err)
			}
			if !Equal(vj, vv) {
				t.Errorf("%s.json and %s.verbose.json decode to different values:\n%#v\n%#v", stem, stem, vj, vv)
			}
			for _, c := range []struct {
				name    string
				v       any
				verbose bool
				want    []byte
				cross   bool
			}{
				{"json→json", vj, false, js, false},
				{"verbose→verbose", vv, true, vb, false},
				{"json→verbose", vj, true, vb, true},
				{"verbose→json", vv, false, js, true},
			} {
				total++
				got, err := EncoderOptions{Verbose: c.verbose}.Marshal(c.v)
				if err != nil {
					t.Errorf("%s: Marshal: %v", c.name, err)
					continue
				}
				if !bytes.Equal(got, c.want) {
					t.Errorf("%s:\n got %s\nwant %s", c.name, clip(got), clip(c.want))
					continue
				}
				if c.cross {
					cross++
				} else {
					same++
				}
			}
		})
	}
	t.Logf("byte-exact: %d of %d same-encoding, %d of %d cross-encoding (%d stems)", same, 2*len(stems), cross, 2*len(stems), len(stems))
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}
