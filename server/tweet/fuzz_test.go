package tweet

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sente-go/sente/transit"
)

func addSeeds(f *testing.F) {
	corpus, err := os.ReadFile("../../testdata/birdwatch/corpus.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(corpus, []byte("\n")) {
		f.Add(line)
	}
	for _, s := range []string{`{}`, `[]`, `1e400`, `-0`, `123456789012345678901234567890`, `{"a":1,"a":2}`,
		`"\ud83d\ude00"`, `"\ud800"`, `[1.5e-7, -2, true, false, null]`, `{"text":"x","retweeted_status":{"text":null}}`} {
		f.Add([]byte(s))
	}
}

// FuzzJSONToTransit checks the JSON reader behind Full and Strip against
// encoding/json: it never panics, accepts what encoding/json accepts, and
// reads the same values.
func FuzzJSONToTransit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonToTransit(data)
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		werr := dec.Decode(&want)
		if werr == nil && dec.More() || werr == nil && !json.Valid(data) {
			werr = errTrailing
		}
		if werr != nil {
			return // invalid JSON: any error (or lenient success) will do
		}
		if err != nil {
			if err == errJSONDepth || strings.Contains(err.Error(), "out of range") {
				return
			}
			t.Fatalf("jsonToTransit(%q): %v; encoding/json accepts it", data, err)
		}
		if !sameValue(v, want) {
			t.Fatalf("jsonToTransit(%q) = %#v, encoding/json reads %#v", data, v, want)
		}
	})
}

var errTrailing = &json.SyntaxError{}

// sameValue compares a transit value with an encoding/json (UseNumber) one.
func sameValue(v, w any) bool {
	switch w := w.(type) {
	case nil, bool, string:
		return v == w
	case json.Number:
		s := string(w)
		if strings.ContainsAny(s, ".eE") {
			f, _ := strconv.ParseFloat(s, 64)
			return v == f
		}
		n, _ := new(big.Int).SetString(s, 10)
		switch v := v.(type) {
		case int64:
			return n.IsInt64() && n.Int64() == v
		case *big.Int:
			return n.Cmp(v) == 0 && !n.IsInt64()
		}
		return false
	case []any:
		a, ok := v.([]any)
		if !ok || len(a) != len(w) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		m, ok := v.(*transit.Map)
		if !ok || m.Len() != len(w) {
			return false
		}
		for k, x := range w {
			y, ok := m.Get(transit.Keyword(k))
			if !ok || !sameValue(y, x) {
				return false
			}
		}
		return true
	}
	return false
}

// FuzzParse checks that Parse never panics, and that what it accepts
// strips, converts and re-encodes without error.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tw, err := Parse(data)
		if err != nil {
			return
		}
		if _, err := transit.Marshal(tw.Strip()); err != nil {
			t.Fatalf("Marshal(Strip()): %v", err)
		}
		if _, err := tw.Full(); err != nil {
			t.Fatalf("Full(): %v", err)
		}
		b, err := tw.Slim().MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("Parse(MarshalJSON(Slim())) = %v for %s", err, b)
		}
	})
}
