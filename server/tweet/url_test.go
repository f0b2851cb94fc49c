package tweet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

var urlCases = []struct {
	s    string
	want bool
}{
	{"", true},
	{"http://t.co/Ab12Cd34Ef", true},
	{"https://example.com/x?y=javascript:z", true},
	{"HTTPS://EXAMPLE.COM/", true},
	{" \x00https://example.com/", true},
	{"ht\ttps://example.com/", true},
	{"/images/avatar-1.png", true},
	{"//example.com/x", true},
	{"images/a.png", true},
	{"example.com/a:b", true},      // '/' ends the scheme: relative
	{"1javascript:alert(1)", true}, // a scheme starts with a letter
	{":javascript", true},
	{"\u00a0javascript:alert(1)", true}, // NBSP is not ignored: a relative path
	{"java script:alert(1)", true},
	{"javascript:alert(1)", false},
	{"JavaScript:alert(1)", false},
	{" JavaScript:alert(1)", false},
	{"\x01\x1f javascript:alert(1)", false},
	{"java\tscript:alert(1)", false},
	{"java\nscript:alert(1)", false},
	{"\tjava\rscript:alert(1)", false},
	{"javascript\t:alert(1)", false},
	{"data:text/html,<script>alert(1)</script>", false},
	{"DATA:image/png;base64,AAAA", false},
	{"vbscript:msgbox(1)", false},
	{"VBScript:msgbox(1)", false},
	{"ftp://example.com/", false},
	{"httpx://example.com/", false},
	{"http+x:", false},
	{"http:", true},
	{"https:", true},
}

func TestHTTPOrRelative(t *testing.T) {
	for _, c := range urlCases {
		if got := httpOrRelative(c.s); got != c.want {
			t.Errorf("httpOrRelative(%q) = %v, want %v", c.s, got, c.want)
		}
		if got := referenceHTTPOrRelative(c.s); got != c.want {
			t.Errorf("reference(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

// referenceHTTPOrRelative is httpOrRelative written the way the URL
// Standard states it: trim, remove tabs and newlines, match a scheme.
func referenceHTTPOrRelative(s string) bool {
	s = strings.TrimLeft(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"+
		"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	m := schemeRE.FindString(s)
	if m == "" {
		return true
	}
	scheme := strings.ToLower(m[:len(m)-1])
	return scheme == "http" || scheme == "https"
}

// FuzzHTTPOrRelative checks httpOrRelative against the reference.
func FuzzHTTPOrRelative(f *testing.F) {
	for _, c := range urlCases {
		f.Add(c.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := httpOrRelative(s), referenceHTTPOrRelative(s); got != want {
			t.Fatalf("httpOrRelative(%q) = %v, reference %v", s, got, want)
		}
	})
}

// urlStatus is a status whose seven URL fields (the avatar, the url
// entity's two, the media entity's four) are urls, with rt, when not nil,
// as its retweeted_status.
func urlStatus(urls [7]string, rt map[string]any) map[string]any {
	m := map[string]any{
		"id": 1, "id_str": "1", "text": "t http://t.co/a http://t.co/m",
		"user": map[string]any{"screen_name": "u", "profile_image_url": urls[0]},
		"entities": map[string]any{
			"urls": []any{map[string]any{"url": urls[1], "expanded_url": urls[2]}},
			"media": []any{map[string]any{"url": urls[3], "expanded_url": urls[4],
				"media_url": urls[5], "media_url_https": urls[6]}},
		},
	}
	if rt != nil {
		m["retweeted_status"] = rt
	}
	return m
}

// TestParseUnsafeURL checks that Parse refuses a status with a URL that
// is not http(s) in any field BirdWatch's client links or shows, in the
// status or in its retweeted_status, and accepts it with https URLs.
func TestParseUnsafeURL(t *testing.T) {
	safe := [7]string{"/images/a.png", "http://t.co/a", "https://example.com/", "http://t.co/m",
		"http://twitter.com/u/status/1/photo/1", "http://pbs.twimg.com/media/x.jpg", "https://pbs.twimg.com/media/x.jpg"}
	parse := func(m map[string]any) error {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(b)
		return err
	}
	if err := parse(urlStatus(safe, urlStatus(safe, nil))); err != nil {
		t.Fatalf("Parse of http(s) URLs: %v", err)
	}
	for field := range safe {
		for _, bad := range []string{"javascript:alert(1)", " Java\tScript:alert(1)", "\x01data:text/html,x", "VBScript:x"} {
			urls := safe
			urls[field] = bad
			if err := parse(urlStatus(urls, nil)); !errors.Is(err, ErrUnsafeURL) {
				t.Errorf("field %d = %q: Parse = %v, want ErrUnsafeURL", field, bad, err)
			}
			if err := parse(urlStatus(safe, urlStatus(urls, nil))); !errors.Is(err, ErrUnsafeURL) {
				t.Errorf("retweeted_status field %d = %q: Parse = %v, want ErrUnsafeURL", field, bad, err)
			}
		}
	}
}

// TestHTTPOrRelativeNode checks httpOrRelative against the URL parser of
// Node.js (the URL Standard's, as in browsers): a string is http or
// relative when, resolved against an https page, it is an http(s) URL.
func TestHTTPOrRelativeNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is not installed: %v", err)
		}
		t.Skipf("!!! SKIPPED: node is not installed: %v", err)
	}
	var inputs []string
	for _, c := range urlCases {
		inputs = append(inputs, c.s)
	}
	for _, pre := range []string{"", " ", "\x00", "\x1f ", "\t", "\n\r", "\x7f", "\u00a0", "\ufeff"} {
		for _, scheme := range []string{"javascript", "JaVaScRiPt", "java\tscript", "java\nscript", "java\x00script",
			"java script", "data", "vbscript", "ftp", "http", "HTTPS", "h\ttps", "https\r", "1http", "ht-tp", "+http", "x"} {
			for _, post := range []string{":x", "\t:x", " :x", "://example.com/"} {
				inputs = append(inputs, pre+scheme+post)
			}
		}
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	const script = `let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => {
  console.log(JSON.stringify(JSON.parse(s).map((u) => {
    try { return new URL(u, "https://page.example/dir/").protocol; } catch (e) { return ""; }
  })));
});`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var protocols []string
	if err := json.Unmarshal(out, &protocols); err != nil || len(protocols) != len(inputs) {
		t.Fatalf("node said %s (%v)", out, err)
	}
	for i, s := range inputs {
		p := protocols[i]
		if p == "" {
			continue // not a URL at all: no link to follow
		}
		if got, want := httpOrRelative(s), p == "http:" || p == "https:"; got != want {
			t.Errorf("httpOrRelative(%q) = %v, but node reads the scheme %s", s, got, p)
		}
	}
}

// BenchmarkParse measures Parse over the statuses of the corpus (one op is
// one status), URL checks included.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../../testdata/birdwatch/corpus.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for line := range bytes.Lines(data) {
		if _, err := Parse(line); err == nil {
			lines = append(lines, line)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := Parse(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
