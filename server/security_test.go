package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// TestCrossOrigin checks the binary's defaults against a page of another
// site: an upgrade and a tokenless form POST from it get 403; with
// -allowed-origins naming it, its upgrade passes, and its POST still needs
// the page token.
func TestCrossOrigin(t *testing.T) {
	const evil = "https://evil.example"
	ppstr, err := protocol.GenV2.ClientFrame(protocol.NewEvent("cmd/missing", transit.NewMap(transit.Keyword("id_str"), "1")), protocol.Callback{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(base, origin, token string) (int, string) {
		t.Helper()
		form := url.Values{"udt": {"1"}, "client-id": {"victim-tab"}, "ppstr": {string(ppstr)}}
		req, err := http.NewRequest(http.MethodPost, base+"/chsk", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	dial := func(base, origin, query string) int {
		t.Helper()
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/chsk?"+query, http.Header{"Origin": {origin}})
		if conn != nil {
			conn.Close()
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}

	in := startInstance(t, config{source: "none", storeSize: 100, csrfToken: "page-token"}, nil)
	if st := dial(in.url, evil, "client-id=a"); st != http.StatusForbidden {
		t.Errorf("cross-origin upgrade of a 1.3 client: %d, want 403", st)
	}
	if st := dial(in.url, evil, "client-id=a&csrf-token=page-token"); st != http.StatusForbidden {
		t.Errorf("cross-origin upgrade with the token: %d, want 403", st)
	}
	if st, body := post(in.url, evil, ""); st != http.StatusForbidden {
		t.Errorf("cross-origin tokenless POST: %d %q, want 403", st, body)
	}
	if st, body := post(in.url, in.url, ""); st != http.StatusForbidden || body != "Bad CSRF token" {
		t.Errorf("same-origin tokenless POST: %d %q, want 403 Bad CSRF token", st, body)
	}
	if st := dial(in.url, in.url, "client-id=a&csrf-token=page-token"); st != http.StatusSwitchingProtocols {
		t.Errorf("same-origin upgrade: %d, want 101", st)
	}
	if st, body := post(in.url, in.url, "page-token"); st != http.StatusOK {
		t.Errorf("same-origin POST with the token: %d %q, want 200", st, body)
	}

	open := startInstance(t, config{source: "none", storeSize: 100, csrfToken: "page-token", origins: evil + ", https://other.example"}, nil)
	if st := dial(open.url, evil, "client-id=a&csrf-token=page-token"); st != http.StatusSwitchingProtocols {
		t.Errorf("upgrade from an allowed origin: %d, want 101", st)
	}
	if st, _ := post(open.url, evil, ""); st != http.StatusForbidden {
		t.Errorf("tokenless POST from an allowed origin: %d, want 403", st)
	}
}
