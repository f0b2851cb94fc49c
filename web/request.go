package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// MaxKeptHeaderBytes bounds the header fields a WebSocket keeps of its
// upgrade request for Message.Request, counted as on the wire (name,
// ": ", value and CRLF for each value). The request's header may be as
// large as http.Server.MaxHeaderBytes (1 MiB by default), and a
// connection lives for hours; this keeps what an application reads
// (cookies, user agent, forwarding headers) at a bounded cost per socket.
const MaxKeptHeaderBytes = 16 << 10

// keptRequest returns what a WebSocket keeps of its upgrade request r once
// the handshake is done, for Message.Request: a shallow copy with r's
// method, URL (copied), protocol, host, remote address, request URI, TLS
// state, path values and context values (in a context that is done), no body, form or
// trailer, and a copy of the header fields that fit in MaxKeptHeaderBytes,
// taken in order of their names (a field too large for what is left is
// skipped, and the next ones are tried). It returns the names of the fields
// it dropped. r itself, which Config's hooks got whole, is then free once
// the upgrade handler returns.
func keptRequest(r *http.Request) (*http.Request, []string) {
	// Done, as the upgrade request's soon is (its handler has returned
	// by the time the connection's events are read), but from the start.
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	k := r.WithContext(ctx)
	if r.URL != nil {
		u := *r.URL
		if u.User != nil {
			user := *u.User
			u.User = &user
		}
		k.URL = &u
	}
	k.Body = http.NoBody
	k.GetBody = nil
	k.ContentLength = 0
	k.TransferEncoding = nil
	k.Form, k.PostForm, k.MultipartForm = nil, nil, nil
	k.Trailer = nil
	k.Response = nil
	var dropped []string
	k.Header, dropped = keptHeader(r.Header, MaxKeptHeaderBytes)
	return k, dropped
}

// keptHeader copies the fields of h that fit in limit bytes (see
// MaxKeptHeaderBytes), in order of their names, and returns the names of
// the others.
func keptHeader(h http.Header, limit int) (http.Header, []string) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	kept := make(http.Header, len(names))
	var dropped []string
	left := limit
	for _, name := range names {
		vs := h[name]
		n := 0
		for _, v := range vs {
			n += len(name) + len(": ") + len(v) + len("\r\n")
		}
		if n > left {
			dropped = append(dropped, name)
			continue
		}
		left -= n
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = strings.Clone(v) // not a view of a larger buffer
		}
		kept[name] = cp
	}
	return kept, dropped
}
