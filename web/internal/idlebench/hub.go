package main

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// The raw hub's timings, those of a typical gorilla chat server.
const (
	hubWriteWait  = 10 * time.Second
	hubPongWait   = 60 * time.Second // long enough for the pings of the benchmark's -ping too
	hubPingPeriod = hubPongWait * 9 / 10
	hubSendQueue  = 256
)

// hub is the baseline the benchmark measures sente-go against: a minimal
// chat-style hub in which every connection has a reader goroutine, a
// writer goroutine with a ping ticker, and a buffered send channel, and
// one goroutine owns the set of connections.
type hub struct {
	upgrader   websocket.Upgrader
	register   chan *hubConn
	unregister chan *hubConn
	broadcast  chan []byte
	ping       time.Duration
}

// hubConn is one connection of the hub.
type hubConn struct {
	h    *hub
	ws   *websocket.Conn
	send chan []byte
}

// newHub returns a hub that pings every ping (a default when 0).
func newHub(ping time.Duration) *hub {
	if ping <= 0 {
		ping = hubPingPeriod
	}
	return &hub{
		ping:       ping,
		upgrader:   websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024},
		register:   make(chan *hubConn),
		unregister: make(chan *hubConn),
		broadcast:  make(chan []byte),
	}
}

// run owns the connection set until done is closed.
func (h *hub) run(done <-chan struct{}) {
	conns := make(map[*hubConn]struct{})
	for {
		select {
		case <-done:
			return
		case c := <-h.register:
			conns[c] = struct{}{}
		case c := <-h.unregister:
			if _, ok := conns[c]; ok {
				delete(conns, c)
				close(c.send)
			}
		case msg := <-h.broadcast:
			for c := range conns {
				select {
				case c.send <- msg:
				default: // too slow: dropped, as the chat example does
					delete(conns, c)
					close(c.send)
				}
			}
		}
	}
}

// ServeHTTP upgrades the request and starts the connection's goroutines.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &hubConn{h: h, ws: ws, send: make(chan []byte, hubSendQueue)}
	h.register <- c
	go c.writePump()
	go c.readPump()
}

// readPump reads until the connection fails, broadcasting each message.
func (c *hubConn) readPump() {
	defer func() {
		c.h.unregister <- c
		_ = c.ws.Close() // the connection is over either way
	}()
	c.ws.SetReadLimit(4096)
	_ = c.ws.SetReadDeadline(time.Now().Add(hubPongWait)) // a failed deadline shows as a failed read
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(hubPongWait)) })
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.h.broadcast <- msg
	}
}

// writePump writes the queued messages and the pings until the send
// channel is closed or a write fails.
func (c *hubConn) writePump() {
	ticker := time.NewTicker(c.h.ping)
	defer func() {
		ticker.Stop()
		_ = c.ws.Close() // the connection is over either way
	}()
	for {
		select {
		case msg, ok := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(hubWriteWait)) // a failed deadline shows as a failed write
			if !ok {
				_ = c.ws.WriteMessage(websocket.CloseMessage, nil) // best effort
				return
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ticker.C:
			_ = c.ws.SetWriteDeadline(time.Now().Add(hubWriteWait)) // a failed deadline shows as a failed write
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}
