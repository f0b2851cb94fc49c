package protocol

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sente-go/sente/transit"
)

// FuzzParseClientFrame checks that ParseClientFrame never panics, does not
// modify its input, returns only its typed errors, and that a frame it
// accepts, written again in the dialect it revealed, parses to the same
// event, callback, generation and format, and writes to the same bytes
// again. Seeds are the golden frames of both formats (client and server
// frames alike) and the shapes of the malformed-frame tables.
func FuzzParseClientFrame(f *testing.F) {
	var files []string
	for _, glob := range goldenGlobs {
		matches, err := filepath.Glob(glob)
		if err != nil || len(matches) == 0 {
			f.Fatalf("no golden seeds in %s: %v", glob, err)
		}
		files = append(files, matches...)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "+", "+j", `+e[[:cmd/query]]`, `+j[["~:query"]]`, `[["~:cmd/query",1,2],null]`,
		`+j[["~:cmd/query",["^ ","~:q"`, "\x00\xff\xfe", `[["~:a/b",["~#set",[1,2]]],0]`,
		`-{"~:a/b":[1,{"~#list":[2]}]}`, `[["~:a/b",["^ ","~:ab/cd",1,"^0",["^1"]]],"~:ajax"]`,
		`+[["~:a/b",["~zNaN","~i9007199254740993","~n1","~f1.50","~t2014-12-22T23:45:01.000Z"]]]`,
		`+[[:a/b #{1 2} (3) #inst "2014-12-22T23:45:01.000-00:00" 1N 1.50M 1/3 ##NaN \a] "x"]`,
		`[[:a/b #:c{:d 1} ^:m [x] #_ 1 ; comment` + "\n" + `] :ajax]`, `+e[[:a/b {:c "é"}] 0]`, `[[:a/b #tag [1]] nil]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		orig := bytes.Clone(frame)
		cf, err := ParseClientFrame(frame)
		if !bytes.Equal(frame, orig) {
			t.Fatalf("ParseClientFrame modified its input: %q became %q", orig, frame)
		}
		if err != nil {
			var bp *BadPackageError
			var be *BadEventError
			if !errors.As(err, &bp) && !errors.As(err, &be) {
				t.Fatalf("ParseClientFrame(%q): untyped error %T %v", frame, err, err)
			}
			return
		}
		if !cf.Dialect().Valid() {
			t.Fatalf("ParseClientFrame(%q): invalid dialect %v", frame, cf.Dialect())
		}
		again, err := cf.Dialect().ClientFrame(cf.Event, cf.Callback)
		if err != nil {
			t.Fatalf("ParseClientFrame(%q) = %+v, which does not write again: %v", frame, cf, err)
		}
		cf2, err := ParseClientFrame(again)
		if err != nil {
			t.Fatalf("rewritten frame %q (from %q) does not parse: %v", again, frame, err)
		}
		if cf2.Dialect() != cf.Dialect() || cf2.Callback != cf.Callback {
			t.Fatalf("frame %q: dialect/callback %v/%+v, rewritten %q: %v/%+v",
				frame, cf.Dialect(), cf.Callback, again, cf2.Dialect(), cf2.Callback)
		}
		if !transit.Equal(cf.Event.Value(), cf2.Event.Value()) {
			t.Fatalf("frame %q: event %#v, rewritten %q: event %#v", frame, cf.Event, again, cf2.Event)
		}
		third, err := cf2.Dialect().ClientFrame(cf2.Event, cf2.Callback)
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("frame %q: rewritten %q, then %q (%v)", frame, again, third, err)
		}
	})
}
