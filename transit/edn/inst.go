package edn

import (
	"errors"
	"time"
)

// parseInst reads the string of an #inst literal as clojure.instant's
// read-instant-date does: "yyyy[-MM[-dd[THH[:mm[:ss[.fff…]]]]]]" with a
// four-digit year, then nothing (UTC), "Z" or "±HH:mm"; every field is
// range-checked (second 60 only in minute 59), and so is the year in UTC
// (0000-9999, which the writer can print). Fraction digits beyond the
// millisecond are dropped, as java.util.Date keeps milliseconds; the result
// is UTC. Dates before 1582-10-15 are proleptic Gregorian here, Julian in
// Java.
func parseInst(s string) (time.Time, error) {
	bad := errors.New("invalid #inst timestamp")
	i := 0
	num := func(n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		i += n
		return v, true
	}
	field := func(sep byte, n int) (int, bool, error) {
		if i >= len(s) || s[i] != sep {
			return 0, false, nil
		}
		i++
		v, ok := num(n)
		if !ok {
			return 0, false, bad
		}
		return v, true, nil
	}
	year, ok := num(4)
	if !ok {
		return time.Time{}, bad
	}
	month, day, hour, minute, sec, nanos := 1, 1, 0, 0, 0, 0
	fields := [...]struct {
		sep byte
		dst *int
	}{{'-', &month}, {'-', &day}, {'T', &hour}, {':', &minute}, {':', &sec}}
	for k, f := range fields {
		if f.sep == '-' && len(s)-i == 6 && s[i+3] == ':' {
			break // "-05:00" at the end is an offset, not a month or day ("1985-05:00")
		}
		v, more, err := field(f.sep, 2)
		if err != nil {
			return time.Time{}, err
		}
		if !more {
			break
		}
		*f.dst = v
		if k == len(fields)-1 && i < len(s) && s[i] == '.' { // a fraction follows the seconds only
			i++
			start := i
			for i < len(s) && '0' <= s[i] && s[i] <= '9' {
				if i-start < 9 {
					nanos = nanos*10 + int(s[i]-'0')
				}
				i++
			}
			if i == start {
				return time.Time{}, bad
			}
			for n := i - start; n < 9; n++ {
				nanos *= 10
			}
		}
	}
	offset := 0
	if i < len(s) {
		switch s[i] {
		case 'Z':
			i++
		case '+', '-':
			sign := 1
			if s[i] == '-' {
				sign = -1
			}
			i++
			oh, ok1 := num(2)
			if !ok1 || i >= len(s) || s[i] != ':' {
				return time.Time{}, bad
			}
			i++
			om, ok2 := num(2)
			if !ok2 || oh > 23 || om > 59 {
				return time.Time{}, bad
			}
			offset = sign * (oh*3600 + om*60)
		}
	}
	if i != len(s) {
		return time.Time{}, bad
	}
	maxSec := 59
	if minute == 59 {
		maxSec = 60 // a leap second; the calendar carries it into the next minute
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > maxSec {
		return time.Time{}, bad
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos/1e6*1e6, time.FixedZone("", offset)).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		// "0000-01-01T00:00+00:01" is in year -1 in UTC: no four-digit
		// year prints it, so that it could not be written back.
		return time.Time{}, bad
	}
	return t, nil
}

// daysIn returns the days of month in year, with the Gregorian leap rule.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// appendInst appends t as Clojure prints a java.util.Date:
// #inst "yyyy-MM-ddTHH:mm:ss.SSS-00:00", in UTC, floored to the
// millisecond. ok is false for a year outside 0000-9999, which Java would
// print with more digits or an era that no reader reads back.
func appendInst(b []byte, t time.Time) ([]byte, bool) {
	t = time.UnixMilli(t.UnixMilli()).UTC()
	y := t.Year()
	if y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, `#inst "`...)
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(t.Month()))
	b = append(b, '-')
	b = append2(b, t.Day())
	b = append(b, 'T')
	b = append2(b, t.Hour())
	b = append(b, ':')
	b = append2(b, t.Minute())
	b = append(b, ':')
	b = append2(b, t.Second())
	b = append(b, '.')
	ms := t.Nanosecond() / 1e6
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, `-00:00"`...), true
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

func append4(b []byte, n int) []byte { return append2(append2(b, n/100), n%100) }
