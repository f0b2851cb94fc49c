package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sente-go/sente/protocol"
)

const (
	gFlexi   = protocol.GenFlexi
	gV1      = protocol.GenV1
	gV2Mixed = protocol.GenV2Mixed
	gV2      = protocol.GenV2
)

func TestCover(t *testing.T) {
	set := protocol.SetOf
	tests := []struct {
		name   string
		in     protocol.GenerationSet
		want   protocol.GenerationSet
		dup    bool
		probe  bool
		probed protocol.GenerationSet // afterProbe
	}{
		{"pinned flexi", set(gFlexi), set(gFlexi), false, false, set(gFlexi)},
		{"pinned v2", set(gV2), set(gV2), false, false, set(gV2)},
		{"no csrf-token: anything", protocol.AllGenerations, set(gFlexi, gV1, gV2), true, true, set(gFlexi, gV1, gV2Mixed)},
		{"csrf-token: 1.14+", set(gV1, gV2Mixed, gV2), set(gV1, gV2), true, true, set(gV1, gV2Mixed)},
		{"1.9-1.20", set(gV1, gV2Mixed), set(gV1), false, false, set(gV1, gV2Mixed)},
		{"1.18+", set(gV2Mixed, gV2), set(gV2), false, false, set(gV2Mixed, gV2)},
		{"deployment: 1.3 or 1.21", set(gFlexi, gV2), set(gFlexi, gV2), false, true, set(gFlexi)},
		{"flexi or 1.18-1.20", set(gFlexi, gV2Mixed), set(gFlexi, gV1), false, false, set(gFlexi, gV2Mixed)},
		{"after probe, no token", set(gFlexi, gV1, gV2Mixed), set(gFlexi, gV1), false, false, set(gFlexi, gV1, gV2Mixed)},
		{"1.9-1.17 or 1.21", set(gV1, gV2), set(gV1, gV2), false, true, set(gV1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, dup := cover(tt.in)
			if w != tt.want || dup != tt.dup {
				t.Errorf("cover(%v) = %v, %v; want %v, %v", tt.in, w, dup, tt.want, tt.dup)
			}
			// Every member reads at least one writer; dup iff one reads two.
			for _, g := range generations {
				if !tt.in.Has(g) {
					continue
				}
				n := 0
				for _, x := range generations {
					if w.Has(x) && reads(g, x) {
						n++
					}
				}
				if n == 0 || (n > 1) != (dup && g == gV2Mixed) {
					t.Errorf("cover(%v): %v reads %d of %v", tt.in, g, n, w)
				}
			}
			if got := needsProbe(tt.in); got != tt.probe {
				t.Errorf("needsProbe(%v) = %v, want %v", tt.in, got, tt.probe)
			}
			if got := afterProbe(tt.in); got != tt.probed {
				t.Errorf("afterProbe(%v) = %v, want %v", tt.in, got, tt.probed)
			}
			if _, dup := cover(afterProbe(tt.in)); dup {
				t.Errorf("cover(afterProbe(%v)) still duplicates", tt.in)
			}
		})
	}
}

func TestRefine(t *testing.T) {
	tests := []struct{ pinned, g, want protocol.Generation }{
		{protocol.GenUnknown, gV2, gV2},
		{protocol.GenUnknown, protocol.GenUnknown, protocol.GenUnknown},
		{gV2Mixed, gV2, gV2Mixed}, // [ev "cb"] from a 1.19 client
		{gV2, gV2Mixed, gV2Mixed}, // [ev] tells 1.18-1.20
		{gFlexi, gV1, gV1},
		{gV1, protocol.GenUnknown, gV1},
	}
	for _, tt := range tests {
		if got := refine(tt.pinned, tt.g); got != tt.want {
			t.Errorf("refine(%v, %v) = %v, want %v", tt.pinned, tt.g, got, tt.want)
		}
	}
}

func TestAjaxWriter(t *testing.T) {
	set := protocol.SetOf
	tests := []struct {
		in   protocol.GenerationSet
		want protocol.Generation
	}{
		{set(gFlexi), gFlexi},
		{set(gV1, gV2Mixed), gV1},
		{set(gV2), gV2},
		{set(gV1, gV2Mixed, gV2), gV2},
		{protocol.AllGenerations, gV2},
		{0, gV2},
	}
	for _, tt := range tests {
		if got := ajaxWriter(tt.in); got != tt.want {
			t.Errorf("ajaxWriter(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestWSCandidates(t *testing.T) {
	set := protocol.SetOf
	tests := []struct {
		name    string
		query   string
		csrf    bool // Config.CSRFToken set: a URL without a token is 1.3–1.13
		clients protocol.GenerationSet
		hook    protocol.GenerationSet
		pinned  protocol.Generation
		want    protocol.GenerationSet
	}{
		{"no token, no page token", "client-id=c", false, 0, 0, 0, set(gFlexi, gV1)},
		{"no token, page token", "client-id=c", true, 0, 0, 0, set(gFlexi, gV1)},
		{"token", "client-id=c&csrf-token=t", true, 0, 0, 0, set(gV1, gV2Mixed, gV2)},
		{"clients: BirdWatch's bundle", "client-id=c", true, set(gFlexi, gV2), 0, 0, set(gFlexi)},
		{"clients: BirdWatch's page", "client-id=c&csrf-token=t", true, set(gFlexi, gV2), 0, 0, set(gV2)},
		{"clients without page token", "client-id=c", false, set(gFlexi, gV2), 0, 0, set(gFlexi)},
		{"hook narrows", "client-id=c", false, 0, set(gFlexi, gV2), 0, set(gFlexi)},
		{"hook and token", "client-id=c&csrf-token=t", true, 0, set(gFlexi, gV2), 0, set(gV2)},
		{"hook contradicts token", "client-id=c&csrf-token=t", true, 0, set(gFlexi), 0, set(gFlexi)},
		{"hook narrows clients", "client-id=c&csrf-token=t", true, set(gFlexi, gV1, gV2), set(gV1, gV2), 0, set(gV1, gV2)},
		{"reconnect of a pinned client", "client-id=c&csrf-token=t", true, 0, 0, gV1, set(gV1)},
		{"pinned outside the candidates", "client-id=c&csrf-token=t", true, 0, 0, gFlexi, set(gV1, gV2Mixed, gV2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/chsk?"+tt.query, nil)
			s := &Server{}
			s.cfg.Clients = tt.clients
			if tt.csrf {
				s.cfg.CSRFToken = func(*http.Request) string { return "t" }
			}
			if tt.hook != 0 {
				s.cfg.Generations = func(*http.Request) protocol.GenerationSet { return tt.hook }
			}
			if got := pinTo(s.wsCandidates(r, r.URL.Query()), tt.pinned); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// With CSRFOff and no page token, a URL without token tells nothing.
	s := &Server{}
	s.cfg.CSRFCheck = CSRFOff
	r := httptest.NewRequest("GET", "/chsk?client-id=c", nil)
	if got := s.wsCandidates(r, r.URL.Query()); got != protocol.AllGenerations {
		t.Errorf("CSRFOff without page token: got %v", got)
	}
}
