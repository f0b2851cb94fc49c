package protocol

import "testing"

func TestReads(t *testing.T) {
	tests := []struct {
		client Generation
		reads  GenerationSet
	}{
		{GenUnknown, 0},
		{GenFlexi, SetOf(GenFlexi)},
		{GenV1, SetOf(GenV1)},
		{GenV2Mixed, SetOf(GenV1, GenV2Mixed, GenV2)},
		{GenV2, SetOf(GenV2)},
	}
	for _, tt := range tests {
		for w := GenUnknown; int(w) < NumGenerations; w++ {
			if got := Reads(tt.client, w); got != tt.reads.Has(w) {
				t.Errorf("Reads(%v, %v) = %v", tt.client, w, got)
			}
		}
	}
}

func TestCover(t *testing.T) {
	set := SetOf
	tests := []struct {
		name   string
		in     GenerationSet
		want   GenerationSet
		dup    bool
		probe  bool
		probed GenerationSet // AfterProbe
	}{
		{"empty", 0, 0, false, false, 0},
		{"pinned flexi", set(GenFlexi), set(GenFlexi), false, false, set(GenFlexi)},
		{"pinned v2", set(GenV2), set(GenV2), false, false, set(GenV2)},
		{"no csrf-token: anything", AllGenerations, set(GenFlexi, GenV1, GenV2), true, true, set(GenFlexi, GenV1, GenV2Mixed)},
		{"csrf-token: 1.14+", set(GenV1, GenV2Mixed, GenV2), set(GenV1, GenV2), true, true, set(GenV1, GenV2Mixed)},
		{"1.9-1.20", set(GenV1, GenV2Mixed), set(GenV1), false, false, set(GenV1, GenV2Mixed)},
		{"1.18+", set(GenV2Mixed, GenV2), set(GenV2), false, false, set(GenV2Mixed, GenV2)},
		{"deployment: 1.3 or 1.21", set(GenFlexi, GenV2), set(GenFlexi, GenV2), false, true, set(GenFlexi)},
		{"flexi or 1.18-1.20", set(GenFlexi, GenV2Mixed), set(GenFlexi, GenV1), false, false, set(GenFlexi, GenV2Mixed)},
		{"after probe, no token", set(GenFlexi, GenV1, GenV2Mixed), set(GenFlexi, GenV1), false, false, set(GenFlexi, GenV1, GenV2Mixed)},
		{"1.9-1.17 or 1.21", set(GenV1, GenV2), set(GenV1, GenV2), false, true, set(GenV1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, dup := tt.in.Cover()
			if w != tt.want || dup != tt.dup {
				t.Errorf("%v.Cover() = %v, %v; want %v, %v", tt.in, w, dup, tt.want, tt.dup)
			}
			// Every member reads at least one writer; dup iff one reads two.
			for g := GenFlexi; g <= GenV2; g++ {
				if !tt.in.Has(g) {
					continue
				}
				n := 0
				for x := GenFlexi; x <= GenV2; x++ {
					if w.Has(x) && Reads(g, x) {
						n++
					}
				}
				if n == 0 || (n > 1) != (dup && g == GenV2Mixed) {
					t.Errorf("%v.Cover(): %v reads %d of %v", tt.in, g, n, w)
				}
			}
			if got := tt.in.NeedsProbe(); got != tt.probe {
				t.Errorf("%v.NeedsProbe() = %v, want %v", tt.in, got, tt.probe)
			}
			if got := tt.in.AfterProbe(); got != tt.probed {
				t.Errorf("%v.AfterProbe() = %v, want %v", tt.in, got, tt.probed)
			}
			if _, dup := tt.in.AfterProbe().Cover(); dup {
				t.Errorf("%v.AfterProbe().Cover() still duplicates", tt.in)
			}
		})
	}
}

func TestCoverIn(t *testing.T) {
	set := SetOf
	tests := []struct {
		in         GenerationSet
		f          Format
		want       GenerationSet
		dup        bool
		transitToo bool // the Transit cover is the same
	}{
		{set(GenFlexi, GenV1), FormatTransit, set(GenFlexi, GenV1), false, true},
		{set(GenFlexi, GenV1), FormatEDN, set(GenV1), false, false},
		{AllGenerations, FormatEDN, set(GenV1, GenV2), true, false},
		{set(GenFlexi, GenV2), FormatEDN, set(GenFlexi, GenV2), false, true},
		{set(GenV1, GenV2Mixed, GenV2), FormatEDN, set(GenV1, GenV2), true, true},
		{set(GenFlexi), FormatEDN, set(GenFlexi), false, true},
	}
	for _, tt := range tests {
		w, dup := tt.in.CoverIn(tt.f)
		if w != tt.want || dup != tt.dup {
			t.Errorf("%v.CoverIn(%v) = %v, %v; want %v, %v", tt.in, tt.f, w, dup, tt.want, tt.dup)
		}
		if c, _ := tt.in.Cover(); (c == w) != tt.transitToo {
			t.Errorf("%v: Cover %v, CoverIn(%v) %v", tt.in, c, tt.f, w)
		}
	}
}

func TestRefine(t *testing.T) {
	tests := []struct{ pinned, revealed, want Generation }{
		{GenUnknown, GenV2, GenV2},
		{GenUnknown, GenUnknown, GenUnknown},
		{GenV2Mixed, GenV2, GenV2Mixed}, // [ev "cb"] from a 1.19 client
		{GenV2, GenV2Mixed, GenV2Mixed}, // [ev] tells 1.18-1.20
		{GenFlexi, GenV1, GenV1},
		{GenV1, GenUnknown, GenV1},
		{GenV1, Generation(9), GenV1},
	}
	for _, tt := range tests {
		if got := tt.pinned.Refine(tt.revealed); got != tt.want {
			t.Errorf("%v.Refine(%v) = %v, want %v", tt.pinned, tt.revealed, got, tt.want)
		}
	}
}

func TestAjaxWriter(t *testing.T) {
	set := SetOf
	tests := []struct {
		in   GenerationSet
		want Generation
	}{
		{set(GenFlexi), GenFlexi},
		{set(GenV1, GenV2Mixed), GenV1},
		{set(GenV2), GenV2},
		{set(GenV1, GenV2Mixed, GenV2), GenV2},
		{set(GenFlexi, GenV1), GenFlexi},
		{set(GenFlexi, GenV2Mixed), GenFlexi},
		{AllGenerations, GenV2},
		{0, GenV2},
	}
	for _, tt := range tests {
		if got := tt.in.AjaxWriter(); got != tt.want {
			t.Errorf("%v.AjaxWriter() = %v, want %v", tt.in, got, tt.want)
		}
	}
}
