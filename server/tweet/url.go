package tweet

import (
	"errors"
	"fmt"
)

// ErrUnsafeURL is returned (wrapped, with the field) by Parse for a status
// with a link or image URL that a browser would not read as http or https:
// a javascript:, data: or vbscript: URL, or any other scheme. BirdWatch's
// client puts entity URLs in links and image URLs in images unchecked
// (docs/birdwatch.md §8), so such a tweet is not let in at all.
var ErrUnsafeURL = errors.New("tweet: URL scheme is not http or https")

// httpOrRelative reports whether a browser reads s, the value of an href or
// src, as an http or https URL, or as a URL relative to the page (which
// then has the page's scheme). It follows the URL Standard's parser: the
// leading C0 controls and spaces are ignored, and tabs and newlines
// anywhere; a scheme is an ASCII letter followed by letters, digits, '+',
// '-' or '.', up to the first ':'; without one, s is relative.
func httpOrRelative(s string) bool {
	i := 0
	for i < len(s) && s[i] <= ' ' {
		i++
	}
	var scheme [len("https")]byte
	n := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t' || c == '\n' || c == '\r':
		case c == ':' && n > 0:
			return n == len("http") && string(scheme[:n]) == "http" ||
				n == len("https") && string(scheme[:n]) == "https"
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			if n < len(scheme) {
				scheme[n] = c | 0x20 // lower case
			}
			n++
		case n > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
			if n < len(scheme) {
				scheme[n] = c
			}
			n++
		default:
			return true // not a scheme: relative
		}
	}
	return true
}

// checkURLs returns ErrUnsafeURL, wrapped with the field's name, for the
// first URL of t's entities or user that is not httpOrRelative. Empty
// values pass.
func (t *Tweet) checkURLs() error {
	if u := t.User; u != nil && !httpOrRelative(u.ProfileImageURL) {
		return fmt.Errorf("%w: user.profile_image_url", ErrUnsafeURL)
	}
	e := t.Entities
	if e == nil {
		return nil
	}
	for i, u := range e.URLs {
		switch {
		case !httpOrRelative(u.URL):
			return fmt.Errorf("%w: entities.urls[%d].url", ErrUnsafeURL, i)
		case !httpOrRelative(u.ExpandedURL):
			return fmt.Errorf("%w: entities.urls[%d].expanded_url", ErrUnsafeURL, i)
		}
	}
	for i, m := range e.Media {
		switch {
		case !httpOrRelative(m.URL):
			return fmt.Errorf("%w: entities.media[%d].url", ErrUnsafeURL, i)
		case !httpOrRelative(m.ExpandedURL):
			return fmt.Errorf("%w: entities.media[%d].expanded_url", ErrUnsafeURL, i)
		case !httpOrRelative(m.MediaURL):
			return fmt.Errorf("%w: entities.media[%d].media_url", ErrUnsafeURL, i)
		case !httpOrRelative(m.MediaURLHTTPS):
			return fmt.Errorf("%w: entities.media[%d].media_url_https", ErrUnsafeURL, i)
		}
	}
	return nil
}
