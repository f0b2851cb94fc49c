package web

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/internal/testsupport"
)

// testBroker is the conformance suite every Broker implementation passes
// (docs/design.md §5.4). newBroker returns a fresh, open broker; closeBroker
// closes it (brokers are closed by their owner, not through the
// interface).
func testBroker(t *testing.T, newBroker func(t *testing.T) Broker, closeBroker func(Broker) error) {
	t.Run("delivers to every subscriber", func(t *testing.T) {
		b := newBroker(t)
		var mu sync.Mutex
		got := map[int][]Publication{}
		for i := range 3 {
			if _, err := b.Subscribe(func(p Publication) {
				mu.Lock()
				got[i] = append(got[i], p)
				mu.Unlock()
			}); err != nil {
				t.Fatal(err)
			}
		}
		pubs := []Publication{
			{UID: "u1", Event: tweetEvent(1)},
			{Broadcast: true, Event: tweetEvent(2)},
		}
		for _, p := range pubs {
			if err := b.Publish(p); err != nil {
				t.Fatal(err)
			}
		}
		testsupport.Await(t, waitFor, "each subscriber receives both publications", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got[0]) == 2 && len(got[1]) == 2 && len(got[2]) == 2
		})
		for i := range 3 {
			for j, p := range got[i] {
				want := pubs[j]
				if p.UID != want.UID || p.Broadcast != want.Broadcast || show(p.Event.Value()) != show(want.Event.Value()) {
					t.Errorf("subscriber %d got %+v, want %+v", i, p, want)
				}
			}
		}
	})
	t.Run("keeps a publisher's order", func(t *testing.T) {
		b := newBroker(t)
		const n = 200
		got := make(chan int, n)
		if _, err := b.Subscribe(func(p Publication) { got <- int(p.Event.Data.(int64)) }); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ev := tweetEvent(0)
			ev.Data = int64(i)
			if err := b.Publish(Publication{UID: "u", Event: ev}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			select {
			case v := <-got:
				if v != i {
					t.Fatalf("publication %d arrived as number %d", v, i)
				}
			case <-time.After(waitFor):
				t.Fatalf("publication %d missing", i)
			}
		}
	})
	t.Run("unsubscribe stops delivery", func(t *testing.T) {
		b := newBroker(t)
		var mu sync.Mutex
		n := 0
		unsub, err := b.Subscribe(func(Publication) {
			mu.Lock()
			n++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(Publication{UID: "u", Event: tweetEvent(1)}); err != nil {
			t.Fatal(err)
		}
		testsupport.Await(t, waitFor, "the subscriber receives the publication", func() bool { mu.Lock(); defer mu.Unlock(); return n == 1 })
		unsub()
		unsub() // idempotent
		if err := b.Publish(Publication{UID: "u", Event: tweetEvent(2)}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if n != 1 {
			t.Fatalf("delivered %d after unsubscribe", n)
		}
	})
	t.Run("concurrent publishers and subscribers", func(t *testing.T) {
		b := newBroker(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unsub, err := b.Subscribe(func(Publication) {})
				if err != nil {
					t.Error(err)
					return
				}
				for j := range 50 {
					if err := b.Publish(Publication{UID: "u", Event: tweetEvent(i*100 + j)}); err != nil {
						t.Error(err)
					}
				}
				unsub()
			}()
		}
		wg.Wait()
	})
	t.Run("closed", func(t *testing.T) {
		b := newBroker(t)
		if err := closeBroker(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(Publication{UID: "u", Event: tweetEvent(1)}); !errors.Is(err, ErrBrokerClosed) {
			t.Errorf("Publish after close: %v", err)
		}
		if _, err := b.Subscribe(func(Publication) {}); !errors.Is(err, ErrBrokerClosed) {
			t.Errorf("Subscribe after close: %v", err)
		}
	})
}

func TestMemoryBroker(t *testing.T) {
	testBroker(t,
		func(t *testing.T) Broker {
			b := NewMemoryBroker()
			t.Cleanup(func() { b.Close() })
			return b
		},
		func(b Broker) error { return b.(*MemoryBroker).Close() })
}
