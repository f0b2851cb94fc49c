package web

import (
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
	if items := q.take(nil); len(items) != 1 {
		t.Fatalf("took %d items", len(items))
	}
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
	p := newPush([]protocol.Event{tweetEvent(1), bad, tweetEvent(2)}, 0, false, &log)
	if p == nil || len(p.events) != 2 {
		t.Fatalf("push %+v", p)
	}
	want := `-j[["~:tweet/new",["^ ","~:id",1,"~:text","tweet 1"]],["^0",["^ ","^1",2,"^2","tweet 2"]]]`
	if got, _ := p.frame(protocol.Dialect{Generation: protocol.GenFlexi}); string(got) != want {
		t.Fatalf("frame %s, want %s", got, want)
	}
	if p := newPush([]protocol.Event{bad}, 0, false, &log); p != nil {
		t.Fatal("a push of nothing")
	}
}
