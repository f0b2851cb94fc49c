package query

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// wildPart is one element of a compiled wildcard pattern.
type wildPart struct {
	kind byte   // 'l' literal text, '?' one character, '*' any run
	text string // the literal, for 'l'
}

// compileWildcard splits a pattern into literals, '?' and '*', removing
// the escapes; it also returns the literal prefix.
func compileWildcard(pattern string) (parts []wildPart, prefix string) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, wildPart{kind: 'l', text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		switch {
		case r == '\\' && i+size < len(pattern):
			r2, size2 := utf8.DecodeRuneInString(pattern[i+size:])
			lit.WriteRune(r2)
			i += size + size2
			continue
		case r == '*':
			flush()
			if len(parts) == 0 || parts[len(parts)-1].kind != '*' {
				parts = append(parts, wildPart{kind: '*'})
			}
		case r == '?':
			flush()
			parts = append(parts, wildPart{kind: '?'})
		default:
			lit.WriteRune(r)
		}
		i += size
	}
	flush()
	if len(parts) > 0 && parts[0].kind == 'l' {
		prefix = parts[0].text
	}
	return parts, prefix
}

// wildcards counts the '*' and '?' parts of a compiled pattern.
func wildcards(parts []wildPart) int {
	n := 0
	for _, p := range parts {
		if p.kind != 'l' {
			n++
		}
	}
	return n
}

// wildMatch reports whether s matches the compiled pattern. It backtracks
// only to the last '*', so it runs in O(len(s) × len(parts)) time.
func wildMatch(parts []wildPart, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for {
		if pi < len(parts) {
			p := parts[pi]
			switch p.kind {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				if si < len(s) {
					_, size := utf8.DecodeRuneInString(s[si:])
					si += size
					pi++
					continue
				}
			case 'l':
				if strings.HasPrefix(s[si:], p.text) {
					si += len(p.text)
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		// Mismatch: let the last '*' absorb one more character.
		if starP < 0 || starS >= len(s) {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[starS:])
		starS += size
		pi, si = starP+1, starS
	}
}

// maxFuzzyEdits is the largest edit distance a fuzzy term may use, as in
// Lucene (LevenshteinAutomata.MAXIMUM_SUPPORTED_DISTANCE).
const maxFuzzyEdits = 2

// maxStackRunes is the longest token withinEdits compares without
// allocating.
const maxStackRunes = 32

// withinEdits reports whether the optimal-string-alignment distance
// between a and b (insertions, deletions, substitutions and transpositions
// of adjacent characters) is at most k, and their first prefix characters
// are equal. ra is a decoded: a fuzzy term decodes its value once, and
// each token it is compared with is decoded into a buffer on the stack,
// after a length check that rejects most tokens of a dictionary scan
// without decoding them.
func withinEdits(a string, ra []rune, b string, k, prefix int) bool {
	if a == b {
		return true
	}
	// A token shorter than len(ra)-k runes has fewer bytes than that too.
	if len(b) < len(ra)-k || len(b) < prefix {
		return false
	}
	nb := utf8.RuneCountInString(b)
	if d := len(ra) - nb; d > k || -d > k {
		return false
	}
	var buf [maxStackRunes]rune
	var rb []rune
	if nb <= len(buf) {
		rb = buf[:0]
	} else {
		rb = make([]rune, 0, nb)
	}
	for _, r := range b {
		rb = append(rb, r)
	}
	if prefix > 0 {
		if len(ra) < prefix || len(rb) < prefix {
			return false
		}
		for i := range prefix {
			if ra[i] != rb[i] {
				return false
			}
		}
		ra, rb = ra[prefix:], rb[prefix:]
	}
	if k == 0 {
		return slices.Equal(ra, rb)
	}
	// Three rows of the DP matrix, for the transposition rule.
	n := len(rb)
	var rows [3][maxStackRunes + 1]int
	prev2, prev, cur := rows[0][:], rows[1][:], rows[2][:]
	if n+1 > len(prev) {
		prev2, prev, cur = make([]int, n+1), make([]int, n+1), make([]int, n+1)
	}
	for j := 0; j <= n; j++ {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= n; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > k {
			return false
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[n] <= k
}
