package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sente-go/sente/internal/testsupport"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		os.Exit(serveChild(args)) // a child of a test: the server, until killed
	}
	goleak.VerifyTestMain(m)
}

func TestServeHealthzAndShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs testsupport.Buffer
	log, err := newLogger("info", &logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, context.Background(), ln, config{source: "none", storeSize: 1000}, log) }()

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("GET /healthz = %d %q, want 200 \"ok\\n\"", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	for _, msg := range []string{`"message":"listening"`, `"message":"shutting down"`, `"message":"stopped"`} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("log lacks %s:\n%s", msg, logs.String())
		}
	}
}

func TestParseConfig(t *testing.T) {
	t.Setenv("SENTE_ADDR", ":9999")
	cfg, err := parseConfig(nil)
	if err != nil || cfg.addr != ":9999" || cfg.logLevel != "info" || cfg.maxHeader != 64<<10 {
		t.Fatalf("parseConfig(nil) = %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"-addr", "127.0.0.1:1", "-log-level", "debug"})
	if err != nil || cfg.addr != "127.0.0.1:1" || cfg.logLevel != "debug" {
		t.Fatalf("parseConfig(flags) = %+v, %v", cfg, err)
	}
	if _, err := newLogger("loud", io.Discard); err == nil {
		t.Fatal("newLogger accepted an unknown level")
	}
}

// TestServeMaxHeaderBytes checks that the HTTP server refuses a header
// over -max-header-bytes (64 KiB by default) with 431 and serves one
// under it, and that the flag raises the limit.
func TestServeMaxHeaderBytes(t *testing.T) {
	for _, tc := range []struct {
		maxHeader int
		pad       int
		want      int
	}{
		{0, 32 << 10, http.StatusOK},
		{0, 80 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{0, 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
		{2 << 20, 1 << 20, http.StatusOK},
	} {
		t.Run(fmt.Sprintf("max%d-pad%d", tc.maxHeader, tc.pad), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			log, err := newLogger("error", io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- serve(ctx, context.Background(), ln, config{source: "none", storeSize: 1000, maxHeader: tc.maxHeader}, log)
			}()
			defer func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("serve returned %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Error("serve did not return after cancel")
				}
			}()
			client := &http.Client{Timeout: 5 * time.Second}
			defer client.CloseIdleConnections()
			req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Pad", strings.Repeat("x", tc.pad))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("GET /healthz with a %d-byte header = %d, want %d", tc.pad, resp.StatusCode, tc.want)
			}
		})
	}
}
