package edn

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sente-go/sente/transit"
)

// decodeAll reads every value of in through a Decoder over r.
func decodeAll(r io.Reader, opts DecoderOptions) ([]any, error) {
	dec := opts.NewDecoder(r)
	var out []any
	for {
		v, err := dec.Decode()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

// TestDecoderStream reads a stream of values whole and one byte at a time.
func TestDecoderStream(t *testing.T) {
	const in = "1 :a \"s\" [1 2] #_ 3 ; c\n {:a 1}#inst \"2000\"sym\\c\u2028(x)##Inf #{} #:n{:k 1}^:m[y] tail"
	want := []any{int64(1), kw("a"), "s", []any{int64(1), int64(2)}, transit.NewMap(kw("a"), int64(1)),
		date("2000-01-01T00:00:00Z"), sym("sym"), transit.Char('c'), transit.List{sym("x")}, posInf, transit.Set{},
		transit.NewMap(kw("n/k"), int64(1)), []any{sym("y")}, sym("tail")}
	for name, r := range map[string]io.Reader{
		"whole":    strings.NewReader(in),
		"one byte": iotest.OneByteReader(strings.NewReader(in)),
		"half":     iotest.HalfReader(strings.NewReader(in)),
	} {
		got, err := decodeAll(r, DecoderOptions{})
		if err != nil || !transit.Equal(got, want) {
			t.Errorf("%s: %#v, %v\nwant %#v", name, got, err, want)
		}
	}
}

// TestDecoderEOF checks the clean and unclean ends of a stream.
func TestDecoderEOF(t *testing.T) {
	for _, in := range []string{"", "  ", "; only a comment", "1 ; trailing comment", "1 #_ 2", "1 #_#_ 2 3 ,, ", "#! shebang\n"} {
		vals, err := decodeAll(iotest.OneByteReader(strings.NewReader(in)), DecoderOptions{})
		if err != nil || len(vals) > 1 {
			t.Errorf("%q: %#v, %v", in, vals, err)
		}
	}
	for _, tt := range []struct {
		in     string
		msg    string
		offset int64
	}{
		{"1 [2", "unexpected end of input in vector starting at offset 2", 4},
		{`1 "ab`, "unexpected end of input in string", 2},
		{"1 #_", "unexpected end of input in #_ discard", 4},
		{"[1] ]", "unmatched delimiter ']'", 4},
		{"[1] #<x>", "unreadable form #<", 4},
		{"[1] :a/", "invalid keyword :a/", 4},
		{"1 \\", "unexpected end of input in character", 2},
	} {
		dec := NewDecoder(iotest.OneByteReader(strings.NewReader(tt.in)))
		if _, err := dec.Decode(); err != nil {
			t.Errorf("%q: first value: %v", tt.in, err)
			continue
		}
		_, err := dec.Decode()
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, tt.msg) || se.Offset != tt.offset {
			t.Errorf("%q: error %v, want %q at %d", tt.in, err, tt.msg, tt.offset)
		}
		if _, err2 := dec.Decode(); err2 != err {
			t.Errorf("%q: error not sticky: %v then %v", tt.in, err, err2)
		}
	}
}

// TestDecoderReadsOnlyWhatItNeeds checks that a value ending with a
// delimiter is returned without reading further, as an interactive stream
// needs.
func TestDecoderReadsOnlyWhatItNeeds(t *testing.T) {
	for _, first := range []string{`[1 2]`, `"s"`, `{:a #{1}}`, `#inst "2000"`, `\(`, `#_ x (y)`, `^:m [z]`} {
		r := io.MultiReader(strings.NewReader(first), iotest.ErrReader(errors.New("read past the value")))
		dec := NewDecoder(iotest.OneByteReader(r))
		if _, err := dec.Decode(); err != nil {
			t.Errorf("%s: %v", first, err)
		}
	}
	// A symbol or number ends at the next delimiter or at the end.
	dec := NewDecoder(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errors.New("boom"))))
	if _, err := dec.Decode(); err == nil || !strings.Contains(err.Error(), "edn: read: boom") {
		t.Errorf("read error: %v", err)
	}
}

// TestDecoderLimits checks the options of a Decoder.
func TestDecoderLimits(t *testing.T) {
	dec := DecoderOptions{MaxValueBytes: 8}.NewDecoder(strings.NewReader(`[1 2] [1 2 3 4 5 6]`))
	if _, err := dec.Decode(); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("value over MaxValueBytes: %v", err)
	}
	dec = DecoderOptions{MaxDepth: 1}.NewDecoder(strings.NewReader(`[[1]]`))
	if _, err := dec.Decode(); !errors.Is(err, ErrTooDeep) {
		t.Errorf("MaxDepth: %v", err)
	}
	if _, err := (DecoderOptions{MaxValueBytes: -1}).NewDecoder(strings.NewReader("1")).Decode(); !errors.Is(err, ErrBadOptions) {
		t.Errorf("bad options: %v", err)
	}
	var u struct{ A int }
	dec = NewDecoder(strings.NewReader(`{:A 7} x`))
	if err := dec.DecodeInto(&u); err != nil || u.A != 7 {
		t.Errorf("DecodeInto = %+v, %v", u, err)
	}
	if err := dec.DecodeInto(&u); err == nil {
		t.Error("DecodeInto of a symbol into a struct succeeded")
	}
}

// TestDecoderAgreesWithUnmarshal reads every corner case and every
// malformed input through a Decoder one byte at a time: the first value or
// the error must be Unmarshal's.
func TestDecoderAgreesWithUnmarshal(t *testing.T) {
	var inputs []string
	for _, c := range readCases {
		inputs = append(inputs, c.in)
	}
	for _, c := range errorCases {
		inputs = append(inputs, c.in)
	}
	for _, in := range inputs {
		checkDecoderAgrees(t, []byte(in))
	}
}

// checkDecoderAgrees checks that a Decoder reading data one byte at a time
// gives Unmarshal's value and then io.EOF, or Unmarshal's error, when data
// holds at most one value.
func checkDecoderAgrees(t *testing.T, data []byte) {
	t.Helper()
	want, werr := Unmarshal(data)
	dec := NewDecoder(iotest.OneByteReader(bytes.NewReader(data)))
	got, err := dec.Decode()
	if werr != nil {
		var se *SyntaxError
		if errors.As(werr, &se) && (strings.Contains(se.Msg, "data after the top-level value") || strings.Contains(se.Msg, "no value")) {
			return // several values, or none: a stream reads them differently
		}
		if err == nil {
			// The stream read a first value; the error must follow.
			if _, err = dec.Decode(); err == nil {
				t.Fatalf("Decoder read %q without error; Unmarshal: %v", data, werr)
			}
		}
		if err.Error() != werr.Error() {
			t.Fatalf("Decoder error for %q: %v; Unmarshal: %v", data, err, werr)
		}
		return
	}
	if err != nil || !transit.Equal(got, want) {
		t.Fatalf("Decoder read %q as %#v, %v; Unmarshal: %#v", data, got, err, want)
	}
	if v, err := dec.Decode(); err != io.EOF {
		t.Fatalf("after the value of %q: %#v, %v; want io.EOF", data, v, err)
	}
}
