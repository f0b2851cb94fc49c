package transit

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxErrLen bounds the message of an error about a malformed input of any
// size: messages end up in logs (issue 13, "Logs as a weapon").
const maxErrLen = 1024

// TestSyntaxErrorSize decodes malformed inputs of 1 MiB whose bad part is
// the whole input and checks that the error quotes only a bounded part.
func TestSyntaxErrorSize(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	bin := strings.Repeat("\xff\x01", 1<<19)
	digits := strings.Repeat("1", 1<<20)
	cases := []struct {
		name, in string
		opts     DecoderOptions
	}{
		{"big decimal", `"~f` + big + `"`, DecoderOptions{}},
		{"float", `"~d` + big + `"`, DecoderOptions{}},
		{"float binary", `"~d` + bin + `"`, DecoderOptions{}},
		{"uuid", `"~u` + big + `"`, DecoderOptions{}},
		{"instant ms", `"~m` + big + `"`, DecoderOptions{}},
		{"instant", `"~t` + big + `"`, DecoderOptions{}},
		{"special number", `"~z` + big + `"`, DecoderOptions{}},
		{"char", `"~c` + big + `"`, DecoderOptions{}},
		{"char binary", `"~c` + bin + `"`, DecoderOptions{}},
		{"big integer", `"~n1` + big + `"`, DecoderOptions{}},
		{"lone tag marker", `"~#` + big + `"`, DecoderOptions{}},
		{"number", `[` + digits + `.e]`, DecoderOptions{}},
		{"tagged u rep", `{"~#` + "u" + `":[` + digits + `]}`, DecoderOptions{}},
		{"read handler", `"~x` + big + `"`, DecoderOptions{ReadHandlers: map[string]ReadHandler{
			"x": func(rep any) (any, error) { return nil, errors.New("bad rep " + rep.(string)) },
		}}},
		{"read handler tag", `["~#` + big + `", 1]`, DecoderOptions{ReadHandlers: map[string]ReadHandler{
			big: func(rep any) (any, error) { return nil, errors.New("no") },
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.opts.Unmarshal([]byte(c.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", clipMsg(fmtErr(err)))
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

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestQuote checks the clipped quoting of input in error messages.
func TestQuote(t *testing.T) {
	if got, want := quote("ab\"c"), `"ab\"c"`; got != want {
		t.Errorf("quote(short) = %s, want %s", got, want)
	}
	s := strings.Repeat("é", 1000)
	got := quote(s)
	if !strings.HasPrefix(got, `"éé`) || !strings.HasSuffix(got, `"… (2000 bytes)`) || len(got) > maxQuote+32 || !utf8.ValidString(got) {
		t.Errorf("quote(2000 bytes) = %s", got)
	}
	got = quote(strings.Repeat("\x00", 300))
	if !strings.HasPrefix(got, `"\x00\x00`) || !strings.HasSuffix(got, `"… (300 bytes)`) || len(got) > maxQuote+32 {
		t.Errorf("quote(300 NULs) = %s", got)
	}
	if got := (&SyntaxError{Msg: strings.Repeat("m", 10000)}).Error(); len(got) > maxMsg+64 || !strings.Contains(got, "… (message of 10000 bytes) at offset 0") {
		t.Errorf("Error() of a 10000-byte Msg = %.100s… (%d bytes)", got, len(got))
	}
}
