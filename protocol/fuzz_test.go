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
// accepts, written again by the generation it revealed, parses to the same
// event, callback and generation, and writes to the same bytes again.
// Seeds are the golden frames (client and server frames alike) and the
// shapes of the malformed-frame table.
func FuzzParseClientFrame(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(goldenRoot, "*", "*.golden"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden seeds: %v", err)
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
		if !cf.Generation.Valid() {
			t.Fatalf("ParseClientFrame(%q): invalid generation %v", frame, cf.Generation)
		}
		again, err := cf.Generation.ClientFrame(cf.Event, cf.Callback)
		if err != nil {
			t.Fatalf("ParseClientFrame(%q) = %+v, which does not write again: %v", frame, cf, err)
		}
		cf2, err := ParseClientFrame(again)
		if err != nil {
			t.Fatalf("rewritten frame %q (from %q) does not parse: %v", again, frame, err)
		}
		if cf2.Generation != cf.Generation || cf2.Callback != cf.Callback {
			t.Fatalf("frame %q: generation/callback %v/%+v, rewritten %q: %v/%+v",
				frame, cf.Generation, cf.Callback, again, cf2.Generation, cf2.Callback)
		}
		e1, err1 := transit.Marshal(cf.Event.Value())
		e2, err2 := transit.Marshal(cf2.Event.Value())
		if err1 != nil || err2 != nil || !bytes.Equal(e1, e2) {
			t.Fatalf("frame %q: event %s (%v), rewritten %q: event %s (%v)", frame, e1, err1, again, e2, err2)
		}
		third, err := cf2.Generation.ClientFrame(cf2.Event, cf2.Callback)
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("frame %q: rewritten %q, then %q (%v)", frame, again, third, err)
		}
	})
}
