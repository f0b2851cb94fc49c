package web

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

func TestSendQueueLimits(t *testing.T) {
	var q sendQueue
	small := outItem{frame: make([]byte, 10)}
	big := outItem{frame: make([]byte, 100)}
	steps := []struct {
		it   outItem
		want queueResult
	}{
		{big, queued},      // a single item larger than the byte limit is accepted
		{small, queueFull}, // 110 > 50 bytes
	}
	for i, s := range steps {
		if got := q.add(s.it, 3, 50); got != s.want {
			t.Fatalf("step %d: add = %v, want %v", i, got, s.want)
		}
	}
	// A writer's items count until written.
	if items := q.take(nil, true); len(items) != 1 {
		t.Fatalf("took %d items", len(items))
	}
	if got := q.add(small, 3, 50); got != queueFull {
		t.Fatalf("add while the big item is written: %v, want queueFull", got)
	}
	q.release(big.size())
	for i := range 3 {
		if got := q.add(small, 3, 50); got != queued {
			t.Fatalf("item %d: %v", i, got)
		}
	}
	if got := q.add(small, 3, 50); got != queueFull {
		t.Fatalf("4th item: %v, want queueFull", got)
	}
	if n, b := q.stats(); n != 3 || b != 30 {
		t.Fatalf("stats %d, %d", n, b)
	}
	if items := q.take(nil, false); len(items) != 3 {
		t.Fatalf("took %d items", len(items))
	}
	if n, b := q.stats(); n != 0 || b != 0 {
		t.Fatalf("stats after take %d, %d", n, b)
	}
	for range 3 {
		q.add(small, 3, 50)
	}
	if left := q.closeQueue(); len(left) != 3 {
		t.Fatalf("closeQueue returned %d", len(left))
	}
	if got := q.add(small, 3, 50); got != queueClose {
		t.Fatalf("add after close: %v", got)
	}
	if q.items != nil {
		t.Fatal("a closed queue keeps memory")
	}
}

// TestNewPushDropsUnpackable checks that one event Transit cannot write
// does not sink the batch.
func TestNewPushDropsUnpackable(t *testing.T) {
	log := zerolog.Nop()
	bad := protocol.Event{ID: "test/bad", Data: make(chan int)}
	p := newPush([]protocol.Event{tweetEvent(1), bad, tweetEvent(2)}, 0, protocol.SetOf(protocol.GenFlexi), false, &log)
	if p == nil || len(p.events) != 2 {
		t.Fatalf("push %+v", p)
	}
	want := `-j[["~:tweet/new",["^ ","~:id",1,"~:text","tweet 1"]],["^0",["^ ","^1",2,"^2","tweet 2"]]]`
	if got, _ := p.frame(protocol.Dialect{Generation: protocol.GenFlexi}); string(got) != want {
		t.Fatalf("frame %s, want %s", got, want)
	}
	if p := newPush([]protocol.Event{bad}, 0, 0, false, &log); p != nil {
		t.Fatal("a push of nothing")
	}
}

// TestNewPushPacksDialectsInUse checks that a push holds the frames of the
// generations it was built for, and packs another one only when asked.
func TestNewPushPacksDialectsInUse(t *testing.T) {
	log := zerolog.Nop()
	evs := []protocol.Event{tweetEvent(1), tweetEvent(2)}
	p := newPush(evs, 0, protocol.SetOf(protocol.GenV2), true, &log)
	for f := range p.frames {
		for g := range p.frames[f] {
			if pf := &p.frames[f][g]; (pf.frame != nil) != (f == int(protocol.FormatTransit) && g == int(protocol.GenV2)) {
				t.Errorf("format %d generation %d: frame %q", f, g, pf.frame)
			}
		}
	}
	d := protocol.Dialect{Generation: protocol.GenV1}
	want, _ := d.Batch(evs...)
	if got, err := p.frame(d); err != nil || string(got) != string(want) {
		t.Fatalf("lazy frame %q, %v, want %q", got, err, want)
	}
	pm, frame, err := p.preparedMessage(protocol.Dialect{Generation: protocol.GenV2})
	if pm == nil || frame == nil || err != nil {
		t.Fatalf("preparedMessage of a small frame: %v, %q, %v", pm, frame, err)
	}
}

// TestSplitPush checks that a batch larger than the byte limit is split
// into pushes that fit, in order, and that a single event larger than the
// limit goes alone.
func TestSplitPush(t *testing.T) {
	log := zerolog.Nop()
	ev := func(n, size int) protocol.Event {
		return protocol.NewEvent("test/big", []any{n, strings.Repeat("x", size)})
	}
	const limit = 10 << 10
	var evs []protocol.Event
	for i := range 40 {
		evs = append(evs, ev(i, 1000))
	}
	evs = append(evs, ev(40, 3*limit), ev(41, 10))
	var pushes []*push
	collect := func(p *push) { pushes = append(pushes, p) }
	splitPush(evs, 0, protocol.AllGenerations, true, limit, &log, collect)
	if len(pushes) < 5 {
		t.Fatalf("%d pushes", len(pushes))
	}
	next := 0
	for i, p := range pushes {
		if p.size > limit && len(p.events) != 1 {
			t.Errorf("push %d: %d events in %d bytes", i, len(p.events), p.size)
		}
		for g := protocol.GenFlexi; g <= protocol.GenV2; g++ {
			if frame, _ := p.frame(protocol.Dialect{Generation: g}); len(frame) > p.size {
				t.Errorf("push %d: frame of %v is %d bytes, size %d", i, g, len(frame), p.size)
			}
		}
		for _, e := range p.events {
			if n := e.Data.([]any)[0].(int); n != next {
				t.Fatalf("push %d: event %d, want %d", i, n, next)
			}
			next++
		}
	}
	if next != len(evs) {
		t.Fatalf("%d events delivered, want %d", next, len(evs))
	}
	pushes = nil
	splitPush(evs[:3], 0, protocol.AllGenerations, true, limit, &log, collect)
	if len(pushes) != 1 {
		t.Fatalf("a small batch split in %d", len(pushes))
	}
}
