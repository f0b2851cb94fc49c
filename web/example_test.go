package web_test

import (
	"context"
	"net/http"
	"time"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web"
)

// A server that answers :cmd/echo callbacks and greets every user that
// connects.
func Example() {
	s, err := web.New(web.Config{
		AllowedOrigins: []string{"https://example.com"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/chsk", s.Handler())
	srv := &http.Server{Addr: ":8888", Handler: mux}

	go func() {
		for m := range s.Events() {
			switch m.Event.ID {
			case web.IDUIDPortOpen:
				_ = s.Send(m.UID, protocol.Event{ID: "app/welcome"}) // only fails after Close
			case "cmd/echo":
				if m.Reply != nil {
					_ = m.Reply(m.Event.Data) // the client may be gone
				}
			}
		}
	}()
	go func() { _ = srv.ListenAndServe() }() // returns at Shutdown

	// At shutdown: end the Sente connections first (http.Server.Shutdown
	// does not wait for WebSockets), then the HTTP server.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Close(ctx)
	_ = srv.Shutdown(ctx)
}
