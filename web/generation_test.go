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
