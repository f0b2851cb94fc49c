package edn

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sente-go/sente/transit"
)

// Decoder reads a stream of EDN values separated by whitespace (commas
// included), comments or discarded forms. A Decoder is not safe for
// concurrent use.
type Decoder struct {
	r    io.Reader
	opts DecoderOptions
	err  error // sticky error: bad options, a read error or a syntax error
	buf  []byte
	pos  int   // start of unread data in buf
	off  int64 // stream offset of buf[0]
	eof  bool
	st   *decodeState
}

// NewDecoder returns a Decoder reading from r with default options.
func NewDecoder(r io.Reader) *Decoder { return DecoderOptions{}.NewDecoder(r) }

// NewDecoder returns a Decoder reading from r with these options. Invalid
// options make every Decode fail.
func (o DecoderOptions) NewDecoder(r io.Reader) *Decoder {
	ro, err := o.resolve()
	return &Decoder{r: r, opts: ro, err: err}
}

// Decode reads the next value. It returns io.EOF when the stream ends
// cleanly between values (after whitespace, comments or discarded forms
// only); a syntax error leaves the Decoder unusable. Decode reads no more
// input than it needs to find the end of the value, except that a symbol
// or number ends only at the next delimiter or at the end of the stream.
func (dec *Decoder) Decode() (any, error) {
	if dec.err != nil {
		return nil, dec.err
	}
	end, err := dec.nextValue()
	if err != nil {
		if err != io.EOF {
			dec.err = err
		}
		return nil, err
	}
	if dec.st == nil {
		dec.st = &decodeState{opts: &dec.opts}
	}
	st := dec.st
	st.reset(dec.buf[dec.pos:end], dec.off+int64(dec.pos))
	v, err := st.top()
	if errors.Is(err, errNoValue) {
		dec.pos = end
		return nil, io.EOF
	}
	dec.pos += st.pos
	if err != nil {
		dec.err = err
		return nil, err
	}
	return v, nil
}

// DecodeInto reads the next value into the Go value v points to, with the
// conversions of transit.Assign.
func (dec *Decoder) DecodeInto(v any) error {
	x, err := dec.Decode()
	if err != nil {
		return err
	}
	return transit.Assign(v, x)
}

// nextValue buffers input until it holds the next top-level value and
// returns where the value ends: the scanner's end of the value, or the end
// of input when the stream ends or the scanner sees malformed input (the
// parser then reports it, or that nothing but skipped forms was left).
func (dec *Decoder) nextValue() (end int, err error) {
	var sc scanner
	scanned := 0 // bytes after dec.pos already scanned
	for {
		n, done, bad := sc.scan(dec.buf[dec.pos+scanned:], dec.eof)
		scanned += n
		switch {
		case done && scanned <= dec.opts.MaxValueBytes:
			return dec.pos + scanned, nil
		case scanned > dec.opts.MaxValueBytes:
			return 0, &SyntaxError{Msg: fmt.Sprintf("value exceeds the limit of %d bytes", dec.opts.MaxValueBytes), Offset: dec.off + int64(dec.pos), Err: ErrTooLarge}
		case bad || dec.eof:
			if !sc.started {
				dec.pos = len(dec.buf)
				return 0, io.EOF
			}
			return len(dec.buf), nil
		}
		if err := dec.fill(); err != nil {
			return 0, err
		}
	}
}

// fill reads more input, first moving unread bytes to the front.
func (dec *Decoder) fill() error {
	if dec.pos > 0 {
		n := copy(dec.buf, dec.buf[dec.pos:])
		dec.off += int64(dec.pos)
		dec.buf = dec.buf[:n]
		dec.pos = 0
	}
	if cap(dec.buf)-len(dec.buf) < 512 {
		nb := make([]byte, len(dec.buf), 2*cap(dec.buf)+4096)
		copy(nb, dec.buf)
		dec.buf = nb
	}
	n, err := dec.r.Read(dec.buf[len(dec.buf):cap(dec.buf)])
	dec.buf = dec.buf[:len(dec.buf)+n]
	if err == io.EOF {
		dec.eof = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("edn: read: %w", err)
	}
	return nil
}

// scanner finds where a top-level value ends without building it. Its
// state carries over between calls so that input can arrive in pieces. It
// agrees with the parser on well-formed input; on malformed input it may
// stop early or late, and the parser reports the error.
type scanner struct {
	state   scanState
	depth   int  // open delimiters
	need    int  // forms still needed at depth 0: 1, plus one per #_, ^, #tag or #:ns
	hash    bool // a '#' was just read in stateNormal
	number  bool // the token is a number: '#' and ':' end it too
	sign    bool // the token is a lone sign so far: the next rune decides number
	colon   bool // the token is a lone ':' so far (an error the parser must see in context)
	started bool // something other than whitespace and comments was read
}

type scanState uint8

const (
	stateNormal scanState = iota
	stateString
	stateStringEscape
	stateComment
	stateCharStart // after '\': its first rune is part of the character
	stateToken
)

// scan consumes b. n is the number of bytes consumed (all of b, or up to
// an incomplete rune at its end, or up to the end of the value); done
// reports that the value ends after n bytes; bad reports malformed input.
// At eof a token still open ends with the input.
func (s *scanner) scan(b []byte, eof bool) (n int, done, bad bool) {
	if s.need == 0 {
		s.need = 1
	}
	i := 0
	for i < len(b) {
		c := b[i]
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			if !utf8.FullRune(b[i:]) && !eof {
				return i, false, false
			}
			r, size = utf8.DecodeRune(b[i:])
		}
		switch s.state {
		case stateString:
			switch c {
			case '\\':
				s.state = stateStringEscape
			case '"':
				s.state = stateNormal
				if s.formDone() {
					return i + 1, true, false
				}
			}
			i++
			continue
		case stateStringEscape:
			s.state = stateString
			i++
			continue
		case stateComment:
			if c == '\n' {
				s.state = stateNormal
			}
			i++
			continue
		case stateCharStart:
			i += size
			if isTerminating(r) || notConstituent(r) || isSpace(r) {
				s.state = stateNormal
				if s.formDone() {
					return i, true, false
				}
			} else {
				s.state, s.number, s.sign = stateToken, false, false
			}
			continue
		case stateToken:
			if s.sign {
				s.sign, s.number = false, isDigit(r)
			}
			if isSpace(r) || isTerminating(r) || s.number && (r == '#' || r == ':') {
				if s.colon {
					return i, false, true
				}
				s.state = stateNormal
				if s.formDone() {
					return i, true, false
				}
				continue // the delimiter is read in stateNormal
			}
			s.colon = false
			i += size
			continue
		}
		// stateNormal
		if s.hash {
			s.hash = false
			switch r {
			case '{':
				s.depth++
				i++
				continue
			case '_', '^':
				s.addForm()
				i++
				continue
			case '!':
				s.state = stateComment
				i++
				continue
			case '#':
				i++ // ##Inf: the symbol that follows is the value
				continue
			case ':':
				s.addForm() // the namespace token, then the map
				s.state, s.number, s.sign = stateToken, false, false
				i++
				continue
			case '<':
				return i, false, true
			}
			s.addForm() // #tag form: the tag, then the form
		}
		if isSpace(r) {
			i += size
			continue
		}
		if r != ';' {
			s.started = true
		}
		i += size
		switch r {
		case '"':
			s.state = stateString
		case ';':
			s.state = stateComment
		case '\\':
			s.state = stateCharStart
		case '(', '[', '{':
			s.depth++
		case ')', ']', '}':
			if s.depth == 0 {
				return i - size, false, true
			}
			s.depth--
			if s.depth == 0 && s.formDone() {
				return i, true, false
			}
		case '#':
			s.hash = true
		case '^':
			s.addForm()
		default:
			s.state = stateToken
			s.number = isDigit(r)
			s.sign = r == '+' || r == '-'
			s.colon = r == ':'
		}
	}
	if eof && s.state == stateToken {
		s.state = stateNormal
		if s.formDone() {
			return i, true, false
		}
	}
	return i, false, false
}

// addForm notes a prefix that needs one more form at depth 0.
func (s *scanner) addForm() {
	if s.depth == 0 {
		s.need++
	}
}

// formDone notes a form that ended; it reports whether the value is
// complete.
func (s *scanner) formDone() bool {
	if s.depth > 0 {
		return false
	}
	s.need--
	return s.need == 0
}

// Encoder writes a stream of EDN values to an io.Writer, separated by a
// newline. An Encoder is not safe for concurrent use.
type Encoder struct {
	w       io.Writer
	buf     []byte
	started bool
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes v, preceded by a newline if it is not the first value. On
// an encoding error nothing is written.
func (enc *Encoder) Encode(v any) error {
	b := enc.buf[:0]
	if enc.started {
		b = append(b, '\n')
	}
	b, err := AppendMarshal(b, v)
	if err != nil {
		return err
	}
	enc.buf = b
	if _, err := enc.w.Write(b); err != nil {
		return fmt.Errorf("edn: write: %w", err)
	}
	enc.started = true
	return nil
}
