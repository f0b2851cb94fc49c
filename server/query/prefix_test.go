package query

import "testing"

func TestPrefixes(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"text:clo*", "clo"},
		{"text:*lo", ""},
		{`text:a\*b*`, "a*b"},
		{"text:/clo.*/", "clo"},
		{"text:/(a|b)c/", ""},
		{"text:[reagent TO reducers]", "re"},
		{"text:[a TO *]", ""},
		{"text:[éa TO éb]", "é"},
		{"text:[\u00e9 TO \u00ea]", ""},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		switch n := q.Root().(type) {
		case *Wildcard:
			got = n.Prefix()
		case *Regexp:
			got = n.Prefix()
		case *TermRange:
			got = n.Prefix()
		default:
			t.Fatalf("%s is a %T", tt.in, n)
		}
		if got != tt.want {
			t.Errorf("prefix of %s = %q, want %q", tt.in, got, tt.want)
		}
	}
	f := &Fuzzy{Value: "éclair", PrefixLength: 2}
	if got := f.Prefix(); got != "éc" {
		t.Errorf("fuzzy prefix = %q", got)
	}
}
