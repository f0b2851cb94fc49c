package web

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxKeptHeaderBytes bounds the header fields a WebSocket keeps of its
// upgrade request for Message.Request, counted as on the wire (name,
// ": ", value and CRLF for each value). The request's header may be as
// large as http.Server.MaxHeaderBytes (1 MiB by default), and a
// connection lives for hours; this keeps what an application reads
// (cookies, user agent, forwarding headers) at a bounded cost per socket.
const MaxKeptHeaderBytes = 16 << 10

// keptRequest is what a WebSocket keeps of its upgrade request once the
// handshake is done, from which request builds Message.Request of each
// of its events: the upgrade request's method, URL, protocol, host,
// remote address, request URI, TLS state, pattern and path values,
// context values and the header fields that fit in MaxKeptHeaderBytes,
// bar the WebSocket handshake's (handshakeField). The upgrade request
// itself, which Config's hooks got whole, is then free once the upgrade
// handler returns.
//
// An idle connection costs what it keeps (issue 19): the strings it
// holds are those of the upgrade request, the header fields are one
// string (encodeFields), and the usual URL (a path and a query) is two
// of the fields, not a url.URL of its own.
type keptRequest struct {
	// ctx is the context of the built requests: done, with the upgrade
	// request's context values.
	ctx    doneContext
	method string
	// path and rawQuery are the URL's, when url is nil; url is a copy of
	// the URL when it has more (an absolute-form request URI). A request
	// without a URL, which net/http's server never makes, is kept with
	// an empty one.
	path       string
	rawQuery   string
	url        *url.URL
	proto      string
	host       string
	remoteAddr string
	requestURI string
	tls        *tls.ConnectionState
	pattern    string
	// header is the kept header fields and pathValues the non-empty
	// values of the pattern's wildcards, each encoded by encodeFields.
	header     string
	pathValues string
	protoMajor int32 // the protocol's version numbers, bounded to int32: HTTP's are single digits
	protoMinor int32
	close      bool
}

// keepRequest returns what a WebSocket keeps of its upgrade request r
// once the handshake is done (keptRequest), and the names of the header
// fields it dropped: it keeps the header fields that fit in
// MaxKeptHeaderBytes, taken in order of their names (a field too large
// for what is left is skipped, and the next ones are tried), and none of
// the WebSocket handshake's (handshakeField), which are not counted or
// reported as dropped.
func keepRequest(r *http.Request) (*keptRequest, []string) {
	k := &keptRequest{
		ctx:        doneContext{values: r.Context()},
		method:     r.Method,
		proto:      r.Proto,
		host:       r.Host,
		remoteAddr: r.RemoteAddr,
		requestURI: r.RequestURI,
		tls:        r.TLS,
		pattern:    r.Pattern,
		pathValues: keptPathValues(r),
		protoMajor: int32(r.ProtoMajor),
		protoMinor: int32(r.ProtoMinor),
		close:      r.Close,
	}
	if u := r.URL; u != nil {
		if *u == (url.URL{Path: u.Path, RawQuery: u.RawQuery}) {
			k.path, k.rawQuery = u.Path, u.RawQuery
		} else {
			k.url = copyURL(u)
		}
	}
	var dropped []string
	k.header, dropped = keptHeader(r.Header, MaxKeptHeaderBytes)
	return k, dropped
}

// request builds Message.Request of an event of the connection: a new
// request each time, with k's method, URL (a copy of its own), protocol,
// host, remote address, request URI, TLS state, pattern and path values,
// the kept header fields (a header of its own), no body, form or trailer,
// and a context that is done and has the upgrade request's values.
func (k *keptRequest) request() *http.Request {
	var u *url.URL
	if k.url != nil {
		u = copyURL(k.url)
	} else {
		u = &url.URL{Path: k.path, RawQuery: k.rawQuery}
	}
	r := (&http.Request{
		Method:     k.method,
		URL:        u,
		Proto:      k.proto,
		ProtoMajor: int(k.protoMajor),
		ProtoMinor: int(k.protoMinor),
		Header:     decodeHeader(k.header),
		Body:       http.NoBody,
		Close:      k.close,
		Host:       k.host,
		RemoteAddr: k.remoteAddr,
		RequestURI: k.requestURI,
		TLS:        k.tls,
		Pattern:    k.pattern,
	}).WithContext(&k.ctx)
	if k.pathValues != "" {
		fr := fieldReader{s: k.pathValues}
		fr.counts()
		var one [1]string
		for {
			name, vs, ok := fr.field(one[:0])
			if !ok || len(vs) != 1 {
				break
			}
			r.SetPathValue(name, vs[0])
		}
	}
	return r
}

// copyURL returns a copy of u, its user information copied too.
func copyURL(u *url.URL) *url.URL {
	c := *u
	if c.User != nil {
		user := *c.User
		c.User = &user
	}
	return &c
}

// keptPathValues returns the non-empty values of r's path wildcards,
// those named in r.Pattern ("{name}" or "{name...}", as http.ServeMux's
// patterns have them), encoded by encodeFields with one value a name.
// A value set by r.SetPathValue under a name the pattern does not have
// is not found (http.Request does not list its path values).
func keptPathValues(r *http.Request) string {
	var fields []string // name, value, name, value…
	for p := r.Pattern; ; {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			break
		}
		name := strings.TrimSuffix(p[i+1:i+j], "...")
		p = p[i+j+1:]
		if name == "" || name == "$" {
			continue
		}
		if v := r.PathValue(name); v != "" {
			fields = append(fields, name, v)
		}
	}
	if len(fields) == 0 {
		return ""
	}
	h := make(http.Header, len(fields)/2)
	names := make([]string, 0, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		if _, dup := h[fields[i]]; !dup {
			names = append(names, fields[i])
		}
		h[fields[i]] = fields[i+1 : i+2 : i+2]
	}
	return encodeFields(h, names)
}

// handshakeField reports whether name (in canonical form) is a header
// field of the WebSocket handshake (RFC 6455, section 4.1), which says nothing
// once the connection is upgraded.
func handshakeField(name string) bool {
	switch name {
	case "Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions":
		return true
	}
	return false
}

// keptHeader encodes (encodeFields) the fields of h that fit in limit
// bytes (see MaxKeptHeaderBytes), in order of their names, bar the
// handshake's, and returns the names of the others.
func keptHeader(h http.Header, limit int) (string, []string) {
	names := make([]string, 0, len(h))
	for name := range h {
		if !handshakeField(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	kept := names[:0] // filtered in place: kept is never ahead of the loop
	var dropped []string
	left := limit
	for _, name := range names {
		n := 0
		for _, v := range h[name] {
			n += len(name) + len(": ") + len(v) + len("\r\n")
		}
		if n > left {
			dropped = append(dropped, name)
			continue
		}
		left -= n
		kept = append(kept, name)
	}
	return encodeFields(h, kept), dropped
}

// encodeFields returns the fields of h named in names, in their order,
// as one string (a copy: no view of a larger buffer): the number of
// fields, the number of values, then for each field its name, its number
// of values and the values, each string preceded by its length; numbers
// are uvarints. A field takes as many bytes as its name and values, plus
// 1 to 3 for each of the numbers: about what it takes on the wire, with
// no byte of a name or value (CR, LF, ':') to escape. "" when names is
// empty.
func encodeFields(h http.Header, names []string) string {
	if len(names) == 0 {
		return ""
	}
	values := 0
	for _, name := range names {
		values += len(h[name])
	}
	size := uvarintLen(len(names)) + uvarintLen(values)
	for _, name := range names {
		vs := h[name]
		size += uvarintLen(len(name)) + len(name) + uvarintLen(len(vs))
		for _, v := range vs {
			size += uvarintLen(len(v)) + len(v)
		}
	}
	var b strings.Builder
	b.Grow(size)
	var num [binary.MaxVarintLen64]byte
	writeNum := func(n int) { b.Write(binary.AppendUvarint(num[:0], uint64(n))) }
	writeNum(len(names))
	writeNum(values)
	for _, name := range names {
		vs := h[name]
		writeNum(len(name))
		b.WriteString(name)
		writeNum(len(vs))
		for _, v := range vs {
			writeNum(len(v))
			b.WriteString(v)
		}
	}
	return b.String()
}

// uvarintLen is the length of n as a uvarint.
func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// decodeHeader returns the header encoded by encodeFields in s: a map and
// one slice of the values for all of its fields, the strings views of s.
// It stops at the first malformed field (s is always encodeFields's).
func decodeHeader(s string) http.Header {
	fr := fieldReader{s: s}
	names, values := fr.counts()
	h := make(http.Header, names)
	all := make([]string, 0, values)
	for range names {
		name, vs, ok := fr.field(all)
		if !ok {
			break
		}
		start := len(all)
		all = vs
		h[name] = all[start:len(all):len(all)] // an append to one field's values does not write over the next's
	}
	return h
}

// fieldReader reads a string encoded by encodeFields from its front.
type fieldReader struct {
	s string // what is left to read
}

// counts reads the numbers of fields and of values, each no larger than
// what is left (every field and value takes a byte at least).
func (fr *fieldReader) counts() (fields, values int) {
	fields, _ = fr.num()
	values, _ = fr.num()
	return fields, values
}

// field reads a field, appending its values to vs; ok is false when what
// is left holds no whole field.
func (fr *fieldReader) field(vs []string) (name string, _ []string, ok bool) {
	if name, ok = fr.str(); !ok {
		return "", vs, false
	}
	n, ok := fr.num()
	if !ok {
		return "", vs, false
	}
	start := len(vs)
	for range n {
		v, ok := fr.str()
		if !ok {
			return "", vs[:start], false
		}
		vs = append(vs, v)
	}
	return name, vs, true
}

// str reads a string and its length.
func (fr *fieldReader) str() (string, bool) {
	n, ok := fr.num()
	if !ok {
		return "", false
	}
	s := fr.s[:n]
	fr.s = fr.s[n:]
	return s, true
}

// num reads a uvarint no larger than what is left after it; it reads no
// more than 5 bytes (35 bits, more than any length here).
func (fr *fieldReader) num() (int, bool) {
	var n uint64
	for i := 0; i < len(fr.s) && i < 5; i++ {
		c := fr.s[i]
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			fr.s = fr.s[i+1:]
			if n > uint64(len(fr.s)) {
				fr.s = ""
				return 0, false
			}
			return int(n), true
		}
	}
	fr.s = ""
	return 0, false
}

// doneContext is the context of a kept request's built requests: done
// from the start (Err is context.Canceled, there is no deadline), with the
// values of the upgrade request's context, which it holds. Its Done
// channel is closedChan, shared by all: it costs no cancelCtx, channel or
// entry in the upgrade request's context. context.Cause of it is
// context.Canceled, or the cause the upgrade request's context was
// canceled with, if it has one (net/http cancels it with none).
type doneContext struct {
	values context.Context
}

// closedChan is every doneContext's Done channel: closed once, here, and
// never sent to.
var closedChan = func() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Deadline reports that there is no deadline.
func (*doneContext) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done returns a closed channel.
func (*doneContext) Done() <-chan struct{} { return closedChan }

// Err returns context.Canceled.
func (*doneContext) Err() error { return context.Canceled }

// Value returns the upgrade request's context's value for key.
func (c *doneContext) Value(key any) any { return c.values.Value(key) }
