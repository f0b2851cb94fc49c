package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// TestBirdWatchHello checks what BirdWatch's two clients get on a
// WebSocket before they say anything, with the server's default
// configuration (-clients flexi,v2), serving the built-in page and with
// -static-dir: the original bundle (Sente 1.3, flexi Transit, no token on
// its URL) and the built-in page (Sente 1.21+, the page's token on its
// URL) each get exactly one handshake in their own dialect, then the
// periodic :stats/users-count once, and no frame they cannot read. The
// frames are compared with testdata/birdwatch/hello-ws.golden, with the
// uid, the client token and the count replaced by placeholders.
func TestBirdWatchHello(t *testing.T) {
	static := t.TempDir()
	if err := os.WriteFile(filepath.Join(static, "index.html"), []byte("<!doctype html><title>BirdWatch</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	const pageToken = "page-token-123"
	var transcript strings.Builder
	for _, mode := range []struct {
		name      string
		staticDir string
	}{{"built-in page", ""}, {"-static-dir", static}} {
		in := startInstance(t, config{source: "none", storeSize: 1000, staticDir: mode.staticDir, csrfToken: pageToken}, nil)
		clients := []struct {
			name  string
			gen   protocol.Generation
			query string
		}{
			{"BirdWatch bundle, Sente 1.3.0 flexi", protocol.GenFlexi, "client-id=9f1c3a2e-5b7d-4e8f-a1b2-c3d4e5f60718"},
			{"Sente 1.21 client with the page token (the built-in page)", protocol.GenV2, "client-id=0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5&csrf-token=" + pageToken},
		}
		for _, c := range clients {
			fmt.Fprintf(&transcript, "## %s: %s\n", mode.name, c.name)
			for _, line := range hello(t, in.url, c.query, c.gen) {
				fmt.Fprintf(&transcript, "S< %s\n", line)
			}
			transcript.WriteString("\n")
		}
		in.stop()
	}
	checkTranscript(t, "hello-ws.golden", transcript.String())
}

// hello connects a WebSocket client of generation gen with query and
// returns the frames the server writes until the first
// :stats/users-count push (sent every 2 s), redacted. It fails on a frame
// the client cannot read and on a second handshake.
func hello(t *testing.T, base, query string, gen protocol.Generation) []string {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/chsk?" + query
	conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {base}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var lines []string
	var uid, token string
	handshakes := 0
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn.SetReadDeadline(deadline)
		_, frame, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("%s: reading after %q: %v", query, lines, err)
		}
		sf, err := protocol.Dialect{Generation: gen, Format: protocol.FormatTransit}.ParseServerFrame(frame)
		if err != nil {
			t.Fatalf("%s: a frame the client cannot read: %s (%v)", gen, frame, err)
		}
		line := string(frame)
		if hs, err := protocol.HandshakeFromValue(sf.Value); err == nil {
			if handshakes++; handshakes > 1 {
				t.Fatalf("%s: a second handshake %s", gen, frame)
			}
			uid, token = hs.UID, hs.CSRFToken
			if gen == protocol.GenFlexi && strings.Count(token, ".") != 3 {
				t.Errorf("1.3 handshake token %q is not a client token", token)
			}
		}
		if uid != "" {
			line = strings.ReplaceAll(line, uid, "<uid>")
		}
		if token != "" {
			line = strings.ReplaceAll(line, token, "<client-token>")
		}
		batch, _ := sf.Value.([]any)
		if len(batch) > 0 {
			if ev, ok := batch[0].([]any); ok && len(ev) == 2 && ev[0] == transit.Keyword("stats/users-count") {
				if handshakes != 1 {
					t.Fatalf("%s: users-count before the handshake", gen)
				}
				n := fmt.Sprint(ev[1])
				line = strings.Replace(line, `"~:stats/users-count",`+n, `"~:stats/users-count",<n>`, 1)
				return append(lines, line)
			}
		}
		lines = append(lines, line)
	}
}
