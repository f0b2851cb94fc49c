package query

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"RT @techweekly: Transducers land in Clojure 1.7 http://t.co/Ab12Cd34Ef #clojure",
			[]string{"rt", "techweekly", "transducers", "land", "in", "clojure", "1.7", "http", "t.co", "ab12cd34ef", "clojure"}},
		{"don't stop", []string{"don't", "stop"}},
		{"don’t", []string{"don’t"}},
		{"it's 3,000.50 dollars", []string{"it's", "3,000.50", "dollars"}},
		{"wi-fi a/b a_b", []string{"wi", "fi", "a", "b", "a_b"}},
		{"end. Next", []string{"end", "next"}},
		{"1. 2,", []string{"1", "2"}},
		{"a.1 1.a", []string{"a", "1", "1", "a"}},
		{"user:jane re: x", []string{"user:jane", "re", "x"}},
		{"___ _x x_", []string{"_x", "x_"}},
		{"b2b mp3 3d", []string{"b2b", "mp3", "3d"}},
		{"Naïve CAFÉ", []string{"naïve", "café"}},
		{"東京で会いましょう", []string{"東", "京", "で", "会", "い", "ま", "し", "ょ", "う"}},
		{"コーヒー and カタカナ", []string{"コーヒー", "and", "カタカナ"}},
		{"Привет МИР", []string{"привет", "мир"}},
		{"e\u0301cole", []string{"e\u0301cole"}},
		{"emoji 😀 between", []string{"emoji", "between"}},
		{"#tag @name $AAPL", []string{"tag", "name", "aapl"}},
		{"\xff\xfeabc", []string{"abc"}},
	}
	for _, tt := range tests {
		got := AppendTokens(nil, tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokensLongWord(t *testing.T) {
	word := strings.Repeat("ab", 200) // 400 characters
	got := AppendTokens(nil, word)
	if len(got) != 2 || len(got[0]) != MaxTokenLength || got[0]+got[1] != word {
		t.Errorf("a 400-character word gave %d tokens of lengths %v", len(got), lens(got))
	}
	// The rest of a long word with no letter or digit is no word.
	zeros := strings.Repeat("0", MaxTokenLength)
	if got := AppendTokens(nil, zeros+"_"); !slices.Equal(got, []string{zeros}) {
		t.Errorf("255 digits and '_' gave %d tokens of lengths %v, want the digits", len(got), lens(got))
	}
	if got := AppendTokens(nil, zeros+"_a"); !slices.Equal(got, []string{zeros, "_a"}) {
		t.Errorf("255 digits and '_a' gave %q, want the digits and _a", got)
	}
}

func lens(ss []string) []int {
	var out []int
	for _, s := range ss {
		out = append(out, len(s))
	}
	return out
}

func TestTokensStopEarly(t *testing.T) {
	n := 0
	for range Tokens("a b c d") {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("iterated %d tokens after break, want 2", n)
	}
}

func TestTokensNoAllocationWhenLower(t *testing.T) {
	s := "already lower case text"
	buf := make([]string, 0, 8)
	allocs := testing.AllocsPerRun(100, func() { buf = AppendTokens(buf[:0], s) })
	if allocs != 0 {
		t.Errorf("AppendTokens allocated %v times, want 0", allocs)
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"clo*", "clojure", true},
		{"clo*", "cl", false},
		{"*ure", "clojure", true},
		{"c*j*e", "clojure", true},
		{"c*j*x", "clojure", false},
		{"j?b", "job", true},
		{"j?b", "jb", false},
		{"?", "é", true},
		{"a*b*c*d", "aXbXcXd", true},
		{"a*a*a*a*b", strings.Repeat("a", 50), false},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"**", "", true},
	}
	for _, tt := range tests {
		parts, prefix := compileWildcard(tt.pattern)
		n := &Wildcard{Pattern: tt.pattern, parts: parts, prefix: prefix}
		if got := n.MatchToken(tt.s); got != tt.want {
			t.Errorf("wildcard %q on %q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestWithinEdits(t *testing.T) {
	tests := []struct {
		a, b      string
		k, prefix int
		want      bool
	}{
		{"clojure", "clojure", 0, 0, true},
		{"clojrue", "clojure", 1, 0, true}, // transposition
		{"clojure", "closure", 1, 0, true},
		{"clojure", "clozure", 0, 0, false},
		{"jobz", "job", 1, 0, true},
		{"jobz", "jo", 1, 0, false},
		{"abc", "cab", 2, 0, true},
		{"abcdef", "abcxyz", 2, 0, false},
		{"clojure", "blojure", 1, 1, false}, // prefix differs
		{"café", "cafe", 1, 0, true},
		{"", "ab", 2, 0, true},
		{"ab", "ab", 0, 5, true},    // equal, whatever the prefix
		{"abc", "abd", 1, 5, false}, // shorter than the prefix
		{"ééé", "éé", 1, 0, true},   // 6 and 4 bytes, 3 and 2 characters
		{"éééé", "éé", 1, 0, false},
		{"abcdef", "ab", 2, 0, false},
		{strings.Repeat("a", 40) + "b", strings.Repeat("a", 40) + "c", 1, 0, true}, // longer than the stack buffers
		{strings.Repeat("a", 40) + "bc", strings.Repeat("a", 40) + "cb", 1, 0, true},
		{strings.Repeat("a", 40), strings.Repeat("a", 43), 2, 0, false},
		{strings.Repeat("a", 40) + "xy", strings.Repeat("a", 41), 2, 38, true},
	}
	for _, tt := range tests {
		if got := withinEdits(tt.a, []rune(tt.a), tt.b, tt.k, tt.prefix); got != tt.want {
			t.Errorf("withinEdits(%q, %q, %d, %d) = %v, want %v", tt.a, tt.b, tt.k, tt.prefix, got, tt.want)
		}
	}
}

// TestWithinEditsRandom compares withinEdits with the textbook
// optimal-string-alignment distance on random strings, short and longer
// than its stack buffers, ASCII and not.
func TestWithinEditsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []rune("abcé東")
	word := func() string {
		n := rng.IntN(6)
		if rng.IntN(4) == 0 {
			n += maxStackRunes - 3
		}
		r := make([]rune, n)
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	for range 20000 {
		a, b := word(), word()
		if rng.IntN(3) == 0 && len(a) > 0 {
			b = a[:len(a)-1] + "x" // a near miss
		}
		k, prefix := rng.IntN(3), rng.IntN(3)
		ra, rb := []rune(a), []rune(b)
		want := a == b || len(ra) >= prefix && len(rb) >= prefix &&
			string(ra[:prefix]) == string(rb[:prefix]) && osaDistance(ra[prefix:], rb[prefix:]) <= k
		if got := withinEdits(a, ra, b, k, prefix); got != want {
			t.Fatalf("withinEdits(%q, %q, %d, %d) = %v, want %v", a, b, k, prefix, got, want)
		}
	}
}

// osaDistance is the optimal-string-alignment distance, the full table.
func osaDistance(a, b []rune) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
