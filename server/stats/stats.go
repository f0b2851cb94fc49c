// Package stats formats BirdWatch's statistics broadcasts
// (docs/birdwatch.md §3.2). It has no state; its functions are safe for
// concurrent use.
package stats

import "strconv"

// totalCountWidth is the field width of Java's "%,15d".
const totalCountWidth = 15

// FormatTotalCount formats the :stats/total-tweet-count payload as the
// original server did with Java's String.format("%,15d", n) in an English
// locale: thousands separated by commas, right-aligned in 15 characters,
// e.g. "      1,234,567". Longer numbers are not truncated (Java's width is
// a minimum), and a negative number keeps its sign before the digits.
func FormatTotalCount(n int64) string {
	digits := strconv.FormatUint(abs(n), 10)
	b := make([]byte, 0, totalCountWidth+6)
	if n < 0 {
		b = append(b, '-')
	}
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, digits[i])
	}
	return pad(string(b))
}

// FormatNullCount is what the original sent when Elasticsearch could not
// count: Java formats a null argument as "null", padded to 15 characters
// (docs/birdwatch.md §13.5).
func FormatNullCount() string { return pad("null") }

func pad(s string) string {
	for len(s) < totalCountWidth {
		s = " " + s
	}
	return s
}

func abs(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1 // no overflow for math.MinInt64
	}
	return uint64(n)
}
