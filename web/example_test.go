package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web"
)

// An echo server: it answers every :cmd/echo callback with the event's
// data. A Sente 1.21+ client (here a bare WebSocket) connects, reads its
// handshake, sends an event with a callback and reads the reply.
func Example() {
	s, err := web.New(web.Config{
		UserID:    func(*http.Request, string) string { return "alice" },
		CSRFToken: func(*http.Request) string { return "page-token" }, // from the session
		Clients:   protocol.SetOf(protocol.GenV2),                     // the page's bundle: Sente 1.21+
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/chsk", s.Handler())
	srv := httptest.NewServer(mux)

	go func() { // ends when s.Close closes Events
		for m := range s.Events() {
			if m.Event.ID == "cmd/echo" && m.Reply != nil {
				_ = m.Reply(m.Event.Data) // the client may be gone
			}
		}
	}()

	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/chsk?client-id=tab-1&csrf-token=page-token"
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		panic(err)
	}
	_, handshake, err := conn.ReadMessage()
	if err != nil {
		panic(err)
	}
	fmt.Printf("handshake: %s\n", handshake)

	frame, err := protocol.GenV2.ClientFrame(protocol.NewEvent("cmd/echo", "hello"), protocol.Callback{ID: "a1b2c3"})
	if err != nil {
		panic(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		panic(err)
	}
	_, reply, err := conn.ReadMessage()
	if err != nil {
		panic(err)
	}
	fmt.Printf("reply: %s\n", reply)
	conn.Close()

	// At shutdown: end the Sente connections first (an http.Server's
	// Shutdown does not wait for WebSockets), then the HTTP server.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Close(ctx)
	srv.Close()
	// Output:
	// handshake: [["~:chsk/handshake",["alice",null,null]],null]
	// reply: ["hello","a1b2c3"]
}
