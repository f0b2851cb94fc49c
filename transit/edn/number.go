package edn

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/sente-go/sente/transit"
)

// maxDigits bounds the digits of a big integer, big decimal or ratio term,
// as transit does, so that hostile input cannot make the reader spend
// quadratic time in math/big; maxNumberLen bounds a number token.
const (
	maxDigits    = 10000
	maxNumberLen = maxDigits + 64
)

// The special floats, boxed once.
var (
	posInf any = math.Inf(1)
	negInf any = math.Inf(-1)
	nan    any = math.NaN()
)

// errNotNumber says that a token matches none of the number patterns.
var errNotNumber = errors.New("invalid number")

// parseNumber reads a number token as tools.reader's match-number does,
// trying the integer pattern, then the float pattern, then the ratio:
//
//	integer  [+-]? (0 | [1-9][0-9]* | 0[xX]hex+ | 0[0-7]+ | r[rR]digits | 0[0-9]+) N?
//	float    [+-]? [0-9]+ (.[0-9]*)? ([eE][+-]?[0-9]+)? M?
//	ratio    [+-]? [0-9]+ / [0-9]+
//
// An integer is an int64, or a *big.Int with N or beyond 64 bits; a float
// a float64 (out of range: ±Inf or 0, as Java parses it), with M a
// BigDecimal; a ratio a *big.Rat, or an integer if it reduces to one.
func parseNumber(s string) (any, error) {
	if len(s) > maxNumberLen {
		return nil, fmt.Errorf("%w: number of %d characters", ErrTooLarge, len(s))
	}
	neg := false
	body := s
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if v, ok, err := parseInteger(neg, body); ok {
		return v, err
	}
	if mant, big, ok := floatPattern(body); ok {
		if big {
			d, err := transit.ParseBigDecimal(s[:len(s)-len(body)] + mant)
			if err != nil {
				if len(mant) > maxDigits {
					return nil, fmt.Errorf("%w: big decimal of %d characters", ErrTooLarge, len(mant))
				}
				return nil, errNotNumber
			}
			return d, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, errNotNumber
		}
		return f, nil
	}
	if num, den, ok := strings.Cut(body, "/"); ok && allDigits(num, 10) && allDigits(den, 10) {
		return parseRatio(neg, num, den)
	}
	return nil, errNotNumber
}

// parseInteger matches the integer pattern. ok is false if the pattern does
// not match; if it matches, the number or an error is returned (a match
// such as "09" is an error, not a float).
func parseInteger(neg bool, body string) (v any, ok bool, err error) {
	full := body // a radix integer's digits take a final N too ("36rAN")
	bigSuffix := strings.HasSuffix(body, "N")
	if bigSuffix {
		body = body[:len(body)-1]
	}
	var digits string
	radix := 10
	switch {
	case body == "":
		return nil, false, nil
	case body == "0":
		if bigSuffix {
			return new(big.Int), true, nil
		}
		return int64(0), true, nil
	case '1' <= body[0] && body[0] <= '9' && allDigits(body, 10):
		digits = body
	case len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && allDigits(body[2:], 16):
		digits, radix = body[2:], 16
	case body[0] == '0' && allDigits(body[1:], 8):
		digits, radix = body[1:], 8
	case body[0] == '0' && allDigits(body[1:], 10):
		return nil, true, errors.New("invalid number: leading zero")
	default:
		r, rest, found := cutRadix(full)
		if !found {
			return nil, false, nil
		}
		bigSuffix = false
		if r < 2 || r > 36 {
			return nil, true, fmt.Errorf("invalid number: radix %d out of range 2-36", r)
		}
		if !allDigits(rest, r) {
			return nil, true, fmt.Errorf("invalid number: digits not in radix %d", r)
		}
		digits, radix = rest, r
	}
	if radix == 10 && len(digits) <= 18 { // fits in int64 without overflow checks
		var n int64
		for _, c := range []byte(digits) {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		if bigSuffix {
			return big.NewInt(n), true, nil
		}
		return n, true, nil
	}
	if len(digits) > maxDigits {
		return nil, true, fmt.Errorf("%w: integer of %d digits", ErrTooLarge, len(digits))
	}
	z, good := new(big.Int).SetString(digits, radix)
	if !good {
		return nil, true, errNotNumber
	}
	if neg {
		z.Neg(z)
	}
	if !bigSuffix && z.IsInt64() {
		return z.Int64(), true, nil
	}
	return z, true, nil
}

// cutRadix splits "16rFF" into 16 and "FF": a radix of one or two decimal
// digits, the first not 0, then 'r' or 'R' and at least one character.
func cutRadix(s string) (radix int, rest string, ok bool) {
	i := strings.IndexAny(s, "rR")
	if i < 1 || i > 2 || i == len(s)-1 || s[0] == '0' || !allDigits(s[:i], 10) {
		return 0, "", false
	}
	r, _ := strconv.Atoi(s[:i])
	return r, s[i+1:], true
}

// allDigits reports whether s is non-empty and all digits in radix
// (2-36, letters of either case).
func allDigits(s string, radix int) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		var d int
		switch {
		case '0' <= c && c <= '9':
			d = int(c - '0')
		case 'a' <= c && c <= 'z':
			d = int(c-'a') + 10
		case 'A' <= c && c <= 'Z':
			d = int(c-'A') + 10
		default:
			return false
		}
		if d >= radix {
			return false
		}
	}
	return true
}

// floatPattern matches body (without its sign) against the float pattern:
// mant is body without a final M, big reports the M.
func floatPattern(body string) (mant string, big, ok bool) {
	mant = body
	if strings.HasSuffix(mant, "M") {
		mant, big = mant[:len(mant)-1], true
	}
	i := 0
	digits := func() int {
		j := i
		for i < len(mant) && '0' <= mant[i] && mant[i] <= '9' {
			i++
		}
		return i - j
	}
	if digits() == 0 {
		return "", false, false
	}
	if i < len(mant) && mant[i] == '.' {
		i++
		digits()
	}
	if i < len(mant) && (mant[i] == 'e' || mant[i] == 'E') {
		i++
		if i < len(mant) && (mant[i] == '+' || mant[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", false, false
		}
	}
	return mant, big, i == len(mant)
}

// parseRatio reads num/den as Clojure's reader does: the fraction is
// reduced; if it reduces to an integer that is an int64 when both terms
// fit in 64 bits (Clojure's Long arithmetic) and a *big.Int otherwise;
// anything else is a *big.Rat.
func parseRatio(neg bool, num, den string) (any, error) {
	if len(num) > maxDigits || len(den) > maxDigits {
		return nil, fmt.Errorf("%w: ratio of %d/%d digits", ErrTooLarge, len(num), len(den))
	}
	n, _ := new(big.Int).SetString(num, 10)
	d, _ := new(big.Int).SetString(den, 10)
	if d.Sign() == 0 {
		return nil, errors.New("invalid number: ratio with a zero denominator")
	}
	if neg {
		n.Neg(n)
	}
	longs := n.IsInt64() && d.IsInt64()
	r := new(big.Rat).SetFrac(n, d)
	if !r.IsInt() {
		return r, nil
	}
	if longs {
		return r.Num().Int64(), nil
	}
	return new(big.Int).Set(r.Num()), nil
}
