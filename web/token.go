package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Client tokens. Sente 1.3–1.13 clients take the CSRF token from the
// second element of their handshake and echo it in every Ajax POST
// (docs/protocol.md §2.4, §4); 1.3–1.6 POSTs carry nothing else that
// tells who sent them (no client-id, docs/protocol.md §2.2). So the handshake of such a
// client carries a token of its own, which names its client-id and uid and
// is signed by the server:
//
//	base64url(client-id) "." base64url(uid) "." issued (unix seconds) "." base64url(MAC)
//
// The MAC is HMAC-SHA256 (first 16 bytes) keyed with Config.TokenSecret
// over the three fields and the request's reference CSRF token
// (Config.CSRFToken), so a token is unforgeable, bound to the session that
// got it, and verifiable by any server that shares the secret, with no
// lookup. It is a real CSRF token at the same time: another site cannot
// read it. A POST that carries one is the event of that client-id and uid,
// whatever the POST says otherwise; a POST whose token does not verify
// gets 403 and its event is dropped.

// Reasons a client token is refused, each the plain-text body of a 403.
var (
	errTokenForged  = errors.New(bodyBadCSRF)
	errTokenExpired = errors.New(bodyTokenExpired)
	errTokenForeign = errors.New(bodyTokenForeign)
)

// clientToken is what a verified client token names.
type clientToken struct {
	cid, uid string
	issued   time.Time
}

// tokenMACLen is the length of a token's MAC, in bytes (128 bits).
const tokenMACLen = 16

// tokenSecretLen is the length of a random token secret, in bytes.
const tokenSecretLen = 32

// newTokenSecret returns a random secret for client tokens.
func newTokenSecret() []byte {
	b := make([]byte, tokenSecretLen)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// tokenMAC returns the MAC of a token's fields under secret, with ref the
// reference CSRF token of the request.
func tokenMAC(secret []byte, cid, uid string, issued int64, ref string) []byte {
	m := hmac.New(sha256.New, secret)
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	m.Write([]byte("sente-go client token 1\n"))
	field(cid)
	field(uid)
	binary.BigEndian.PutUint64(n[:], uint64(issued))
	m.Write(n[:])
	field(ref)
	return m.Sum(nil)[:tokenMACLen]
}

// issueToken returns the client token of client cid bound to uid, issued
// at now for a request whose reference CSRF token is ref.
func issueToken(secret []byte, cid, uid string, now time.Time, ref string) string {
	enc := base64.RawURLEncoding
	issued := now.Unix()
	return enc.EncodeToString([]byte(cid)) + "." + enc.EncodeToString([]byte(uid)) + "." +
		strconv.FormatInt(issued, 10) + "." + enc.EncodeToString(tokenMAC(secret, cid, uid, issued, ref))
}

// maxTokenLen bounds the text of a client token, so that a long forged
// one costs nothing to refuse: a client-id (maxClientIDLen) and a uid of
// up to 1 KiB, base64-encoded, with the rest.
const maxTokenLen = 2048

// looksLikeToken reports whether tok has the shape of a client token (four
// fields), without checking it: a page token (Sente 1.14+) has not.
func looksLikeToken(tok string) bool {
	return len(tok) <= maxTokenLen && strings.Count(tok, ".") == 3
}

// verifyToken checks tok at now under secret and ref, for tokens no older
// than maxAge: errTokenForged if it is malformed or its MAC does not match
// (another secret, another session, or made up), errTokenExpired if it is
// too old (or issued in the future beyond a minute of clock skew).
func verifyToken(secret []byte, tok string, now time.Time, maxAge time.Duration, ref string) (clientToken, error) {
	if !looksLikeToken(tok) {
		return clientToken{}, errTokenForged
	}
	parts := strings.Split(tok, ".")
	// Strict, and the time as FormatInt writes it: one token per client,
	// uid and time, not several spellings of it.
	enc := base64.RawURLEncoding.Strict()
	cid, err1 := enc.DecodeString(parts[0])
	uid, err2 := enc.DecodeString(parts[1])
	issued, err3 := strconv.ParseInt(parts[2], 10, 64)
	mac, err4 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || strconv.FormatInt(issued, 10) != parts[2] ||
		len(cid) == 0 || len(cid) > maxClientIDLen {
		return clientToken{}, errTokenForged
	}
	if !hmac.Equal(mac, tokenMAC(secret, string(cid), string(uid), issued, ref)) {
		return clientToken{}, errTokenForged
	}
	at := time.Unix(issued, 0)
	if now.Sub(at) > maxAge || at.Sub(now) > time.Minute {
		return clientToken{}, errTokenExpired
	}
	return clientToken{cid: string(cid), uid: string(uid), issued: at}, nil
}

// tokenDue reports whether the client token last handed to an Ajax client
// at issued (unix seconds, 0 for none) is past half its life at now: its
// next poll gets a new handshake, which carries a new token.
func tokenDue(issued int64, now time.Time, maxAge time.Duration) bool {
	return issued != 0 && now.Sub(time.Unix(issued, 0)) > maxAge/2
}
