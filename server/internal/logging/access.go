package logging

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// maxPath bounds the path an access log line holds, in bytes: a client
// chooses it, up to the header limit.
const maxPath = 256

// AccessLog returns a middleware (chi's Router.Use takes it) that logs
// one line at debug level per request, once its handler returned: the
// method, the path without the query string (a query can hold tokens),
// the status, the body bytes written, the duration and the remote
// address; never a header or a query value. A hijacked connection (a
// WebSocket upgrade) is logged with status 101 and the bytes written
// before the hijack; a long poll, once answered. The ResponseWriter it
// passes on keeps http.Flusher, http.Hijacker and io.ReaderFrom, and
// unwraps for http.ResponseController. When log does not write debug
// lines, the middleware returns the handler as it is.
//
// Every request gives a line: it is meant for debugging, not for a
// server that clients may flood.
func AccessLog(log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if log.GetLevel() > zerolog.DebugLevel || zerolog.GlobalLevel() > zerolog.DebugLevel {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			log.Debug().
				Str("method", r.Method).
				Str("path", truncate(r.URL.Path, maxPath)).
				Int("status", rec.statusCode()).
				Int64("bytes", rec.bytes).
				Dur("duration", time.Since(start)).
				Str("remote", r.RemoteAddr).
				Msg("http request")
		})
	}
}

// truncate returns s cut to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// recorder is a ResponseWriter that notes the status and the body bytes
// of a response.
type recorder struct {
	http.ResponseWriter
	status int   // 0 until a final status is sent
	bytes  int64 // body bytes written
}

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
	_ io.ReaderFrom = (*recorder)(nil)
)

// statusCode is the status sent: 200 when the handler sent nothing.
func (r *recorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// sent notes that the header went out with a 200, unless a status did.
func (r *recorder) sent() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code // 1xx but 101 are informational: a final status follows
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.sent()
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile for files).
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.sent()
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Flush flushes the underlying writer, if it can.
func (r *recorder) Flush() {
	r.sent()
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack hijacks the underlying connection; the request counts as 101
// Switching Protocols, the hijacker's usual answer.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil && r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
