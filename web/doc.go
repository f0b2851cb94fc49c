// Package web serves the Sente channel socket: the WebSocket and Ajax long-poll
// transports at one path, the connection registry and the broker interface.
package web
