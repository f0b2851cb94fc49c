package hub

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/percolator"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web"
)

// costlyStore answers every search at once, with no tweets, except those
// whose query text is costlyText: each of these takes cost (a sleep, so
// that the figure does not depend on what else the machine runs).
type costlyStore struct{ cost time.Duration }

const costlyText = "flood~ AND costly~"

func (s costlyStore) Add(*tweet.Tweet) error { return nil }
func (s costlyStore) Search(q *query.Query, _, _ int) ([]tweet.Stripped, error) {
	if q.Text() == costlyText {
		time.Sleep(s.cost)
	}
	return []tweet.Stripped{}, nil
}
func (s costlyStore) Get(string) (tweet.Stripped, bool) { return tweet.Stripped{}, false }
func (s costlyStore) Count() int                        { return 0 }

// eventsTransport is a Transport whose events the benchmark sends; pushes
// are dropped (the benchmark's queries ask for callbacks).
type eventsTransport struct{ events chan web.Message }

func (t eventsTransport) Events() <-chan web.Message          { return t.events }
func (t eventsTransport) Send(string, protocol.Event) error   { return nil }
func (t eventsTransport) BroadcastLocal(protocol.Event) error { return nil }
func (t eventsTransport) ConnectedUIDs() web.ConnectedUIDs    { return web.ConnectedUIDs{} }

// queryEvent is a :cmd/query of text as BirdWatch's client sends it.
func queryEvent(text string, from int) protocol.Event {
	q := transit.NewMap(transit.Keyword("query_string"), transit.NewMap(
		transit.Keyword("default_field"), "text", transit.Keyword("default_operator"), "AND", transit.Keyword("query"), text))
	return protocol.NewEvent(IDQuery, transit.NewMap(transit.Keyword("query"), q, transit.Keyword("n"), 500, transit.Keyword("from"), from))
}

// BenchmarkBystanderUnderFlood measures the history latency of a
// bystander (one query at a time, answered at once by the store) while
// another client keeps 1500 costly queries outstanding (each 1 ms in the
// store, sent again as soon as it is answered), as in issue 14. The
// events channel has the web server's default capacity (256). With one
// history worker the bystander waits for at most one of the flooder's
// queries; with the default (GOMAXPROCS) for none. Run with
//
//	go test -run '^$' -bench BystanderUnderFlood -benchtime 200x -benchmem ./server/hub/
func BenchmarkBystanderUnderFlood(b *testing.B) {
	b.Run("workers=1", func(b *testing.B) { benchFlood(b, 1) })
	b.Run("workers=default", func(b *testing.B) { benchFlood(b, 0) })
}

func benchFlood(b *testing.B, workers int) {
	const outstanding = 1500
	tr := eventsTransport{events: make(chan web.Message, 256)}
	h, err := New(Config{Transport: tr, Store: costlyStore{cost: time.Millisecond}, Percolator: percolator.New(percolator.Config{}),
		HistoryWorkers: workers})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := h.Run(ctx); err != nil {
			b.Error(err)
		}
	}()
	// The flooder sends a new query for each answer it gets.
	answered := make(chan struct{}, outstanding)
	flood := queryEvent(costlyText, 0)
	floodReply := func(any) error { answered <- struct{}{}; return nil }
	go func() {
		defer wg.Done()
		for range outstanding {
			answered <- struct{}{}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-answered:
			}
			select {
			case <-ctx.Done():
				return
			case tr.events <- web.Message{UID: "flooder", Event: flood, Reply: floodReply}:
			}
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()

	var lat []time.Duration
	done := make(chan struct{}, 1)
	reply := func(any) error { done <- struct{}{}; return nil }
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		tr.events <- web.Message{UID: "bystander", Event: queryEvent("clojure", 500*(i%10)), Reply: reply}
		<-done
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		return float64(lat[min(int(math.Ceil(q*float64(len(lat))))-1, len(lat)-1)].Nanoseconds()) / 1e6
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
