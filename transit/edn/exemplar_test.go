package edn

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sente-go/sente/transit"
)

// exemplarDir holds the official Transit conformance exemplars, each value
// as NAME.edn (printed by Clojure) next to NAME.json (written by
// transit-clj; docs/transit.md §13), copied into the repository
// (testdata/transit-exemplars/README.md says from where).
const exemplarDir = "../../testdata/transit-exemplars"

// notEDN lists the exemplars whose .edn is not the value (docs/transit.md §13):
// Clojure printed a URI or a transit TaggedValue as #object[…], which
// reads (as a tagged literal with the tag object) but not as the value.
var notEDN = []string{"one_uri", "uris", "maps_unrecognized_keys"}

// orderDiffers lists the exemplars to compare with transit.Equal rather
// than byte for byte because the .edn prints a set or a map of more than
// 8 entries (both hash-ordered in Clojure) in another order than the .json
// writes it. There are none: Clojure's printer and transit-clj's writer
// iterate the same hash set in the same order, and the larger maps are
// sorted maps. The list stays so that a regenerated exemplar set that
// differs says so instead of failing.
var orderDiffers []string

func exemplarStems(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(exemplarDir, "*.edn"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no exemplars in %s", exemplarDir)
	}
	var stems []string
	for _, f := range files {
		stems = append(stems, strings.TrimSuffix(filepath.Base(f), ".edn"))
	}
	return stems
}

func readExemplar(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(exemplarDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExemplarsEDNToTransit reads every valid .edn exemplar, writes it as
// Transit JSON and compares with the .json twin: byte for byte, except
// where the printed set order differs (orderDiffers), where the values
// are compared. It also writes the value back as EDN, which must give the
// .edn text exactly: the writer prints as Clojure does.
func TestExemplarsEDNToTransit(t *testing.T) {
	exact, equal := 0, 0
	for _, stem := range exemplarStems(t) {
		if slices.Contains(notEDN, stem) {
			continue
		}
		t.Run(stem, func(t *testing.T) {
			text := readExemplar(t, stem+".edn")
			v, err := Unmarshal(text)
			if err != nil {
				t.Fatalf("Unmarshal(%s.edn): %v", stem, err)
			}
			want := readExemplar(t, stem+".json")
			got, err := transit.Marshal(v)
			if err != nil {
				t.Fatalf("transit.Marshal: %v", err)
			}
			if slices.Contains(orderDiffers, stem) {
				if bytes.Equal(got, want) {
					t.Errorf("%s is listed in orderDiffers but matches byte for byte", stem)
				}
				tv, err := transit.Unmarshal(want)
				if err != nil || !transit.Equal(v, tv) {
					t.Fatalf("%s.edn and %s.json differ as values (%v)\nedn:  %#v\njson: %#v", stem, stem, err, v, tv)
				}
				equal++
			} else {
				if !bytes.Equal(got, want) {
					t.Fatalf("Transit of %s.edn differs from %s.json\n got: %s\nwant: %s", stem, stem, clipBytes(got), clipBytes(want))
				}
				exact++
			}
			back, err := Marshal(v)
			if err != nil || !bytes.Equal(back, text) {
				t.Errorf("EDN written back differs from %s.edn (%v)\n got: %s\nwant: %s", stem, err, clipBytes(back), clipBytes(text))
			}
		})
	}
	t.Logf("%d exemplars byte for byte, %d equal as values (set order)", exact, equal)
}

// TestExemplarsTransitToEDN reads the .json of every exemplar whose .edn
// is valid, writes it as EDN, reads that back and checks that the value
// is unchanged; the written text must equal the .edn where the order
// agrees.
func TestExemplarsTransitToEDN(t *testing.T) {
	for _, stem := range exemplarStems(t) {
		if slices.Contains(notEDN, stem) {
			continue
		}
		t.Run(stem, func(t *testing.T) {
			v, err := transit.Unmarshal(readExemplar(t, stem+".json"))
			if err != nil {
				t.Fatalf("transit.Unmarshal: %v", err)
			}
			text, err := Marshal(v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back, err := Unmarshal(text)
			if err != nil {
				t.Fatalf("Unmarshal(Marshal(v)): %v\ntext: %s", err, clipBytes(text))
			}
			if !transit.Equal(v, back) {
				t.Fatalf("value changed through EDN\n%s", clipBytes(text))
			}
			if !slices.Contains(orderDiffers, stem) && !bytes.Equal(text, readExemplar(t, stem+".edn")) {
				t.Errorf("EDN differs from %s.edn\n got: %s", stem, clipBytes(text))
			}
		})
	}
}

// TestExemplarsNotEDN checks what the reader makes of the #object[…]
// printouts: a tagged literal with the tag object, not the value, so
// these exemplars are rightly left out above. The URIs and TaggedValues
// themselves have no EDN form (the writer refuses them).
func TestExemplarsNotEDN(t *testing.T) {
	for _, stem := range exemplarStems(t) {
		if !slices.Contains(notEDN, stem) {
			continue
		}
		v, err := Unmarshal(readExemplar(t, stem+".edn"))
		if err != nil {
			t.Errorf("%s.edn: %v", stem, err)
			continue
		}
		first := v
		if vec, ok := v.([]any); ok && len(vec) > 0 {
			first = vec[0]
		}
		if tv, ok := first.(transit.TaggedValue); !ok || tv.Tag != "object" {
			t.Errorf("%s.edn reads as %#v, want #object tagged literals", stem, v)
		}
		tv, err := transit.Unmarshal(readExemplar(t, stem+".json"))
		if err != nil {
			t.Fatal(err)
		}
		text, err := Marshal(tv)
		if stem != "maps_unrecognized_keys" {
			if err == nil {
				t.Errorf("Marshal of %s.json succeeded; URIs have no EDN form", stem)
			}
			continue
		}
		// TaggedValues with symbol tags are EDN: the reverse round trip holds.
		back, err2 := Unmarshal(text)
		if err != nil || err2 != nil || !transit.Equal(tv, back) {
			t.Errorf("%s.json through EDN %s: %v, %v", stem, text, err, err2)
		}
	}
}

func clipBytes(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}
