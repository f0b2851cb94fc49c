package tweet

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/sente-go/sente/transit"
)

// maxJSONDepth bounds the nesting jsonToTransit follows. Statuses nest
// about six levels; encoding/json itself stops at 10000.
const maxJSONDepth = 512

var errJSONDepth = errors.New("tweet: JSON nested too deeply")

// jsonToTransit converts one JSON value into the transit value model with
// keyword keys: objects become *transit.Map (keys as transit.Keyword, in
// document order, the last of a repeated key winning as in encoding/json),
// arrays []any, integers int64 (or *big.Int beyond 64 bits), other numbers
// float64. data must be valid JSON; jsonToTransit reports an error rather
// than panicking when it is not.
func jsonToTransit(data []byte) (any, error) {
	r := jsonReader{b: data}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	r.space()
	if r.i != len(r.b) {
		return nil, r.errorf("trailing data")
	}
	return v, nil
}

type jsonReader struct {
	b []byte
	i int
}

func (r *jsonReader) errorf(format string, args ...any) error {
	return fmt.Errorf("tweet: invalid JSON at offset %d: %s", r.i, fmt.Sprintf(format, args...))
}

func (r *jsonReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errJSONDepth
	}
	r.space()
	if r.i >= len(r.b) {
		return nil, r.errorf("unexpected end")
	}
	switch c := r.b[r.i]; {
	case c == '{':
		return r.object(depth)
	case c == '[':
		return r.array(depth)
	case c == '"':
		return r.str()
	case c == '-' || ('0' <= c && c <= '9'):
		return r.number()
	case r.lit("true"):
		return true, nil
	case r.lit("false"):
		return false, nil
	case r.lit("null"):
		return nil, nil
	}
	return nil, r.errorf("unexpected %q", r.b[r.i])
}

func (r *jsonReader) lit(s string) bool {
	if len(r.b)-r.i >= len(s) && string(r.b[r.i:r.i+len(s)]) == s {
		r.i += len(s)
		return true
	}
	return false
}

func (r *jsonReader) object(depth int) (any, error) {
	r.i++ // {
	m := transit.NewMap()
	r.space()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return m, nil
	}
	for {
		r.space()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return nil, r.errorf("expected a key")
		}
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		r.space()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return nil, r.errorf("expected ':'")
		}
		r.i++
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m.Set(transit.Keyword(k), v)
		r.space()
		if r.i >= len(r.b) {
			return nil, r.errorf("unexpected end")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case '}':
			r.i++
			return m, nil
		default:
			return nil, r.errorf("expected ',' or '}'")
		}
	}
}

func (r *jsonReader) array(depth int) (any, error) {
	r.i++ // [
	a := []any{}
	r.space()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return a, nil
	}
	for {
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		r.space()
		if r.i >= len(r.b) {
			return nil, r.errorf("unexpected end")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case ']':
			r.i++
			return a, nil
		default:
			return nil, r.errorf("expected ',' or ']'")
		}
	}
}

// str reads a string: the common plain case is a copy, anything else is
// decoded by encoding/json.
func (r *jsonReader) str() (string, error) {
	start := r.i
	r.i++ // "
	escaped := false
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '\\':
			escaped = true
			r.i += 2
			continue
		case c == '"':
			r.i++
			if !escaped && utf8.Valid(r.b[start+1:r.i-1]) {
				return string(r.b[start+1 : r.i-1]), nil
			}
			// Escapes, or invalid UTF-8 (replaced by U+FFFD, as
			// encoding/json does).
			var s string
			if err := json.Unmarshal(r.b[start:r.i], &s); err != nil {
				return "", fmt.Errorf("tweet: invalid JSON string at offset %d: %w", start, err)
			}
			return s, nil
		case c < 0x20:
			return "", r.errorf("control character in string")
		}
		r.i++
	}
	r.i = len(r.b)
	return "", r.errorf("unterminated string")
}

func (r *jsonReader) number() (any, error) {
	start := r.i
	integer := true
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '.' || c == 'e' || c == 'E' || c == '+' {
			integer = false
		} else if c != '-' && (c < '0' || c > '9') {
			break
		}
		r.i++
	}
	text := string(r.b[start:r.i])
	if !json.Valid(r.b[start:r.i]) {
		return nil, fmt.Errorf("tweet: invalid JSON number %q at offset %d", text, start)
	}
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
		n, ok := new(big.Int).SetString(text, 10)
		if !ok {
			return nil, fmt.Errorf("tweet: invalid JSON number %q at offset %d", text, start)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// Out of range: encoding/json rejects it too.
		return nil, fmt.Errorf("tweet: JSON number %q out of range at offset %d", text, start)
	}
	return f, nil
}
