package peers

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sente-go/sente/web/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type forgotten struct {
	uid string
	at  time.Time
}

// run runs p until the test ends and returns what it is told to forget.
func run(t *testing.T, p *Redis) <-chan forgotten {
	t.Helper()
	got := make(chan forgotten, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(uid string, at time.Time) { got <- forgotten{uid, at} }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return got
}

// One instance's registration reaches the others, with its time, and
// not itself; bad announcements are dropped.
func TestAnnouncements(t *testing.T) {
	rs := redistest.Start(t)
	a, err := New(Config{Addr: rs.Addr(), Channel: "test:peers"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Addr: rs.Addr(), Channel: "test:peers"})
	if err != nil {
		t.Fatal(err)
	}
	gotA, gotB := run(t, a), run(t, b)
	c := rs.Client()
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for { // both subscribed
		n, err := c.PubSubNumSub(context.Background(), "test:peers").Result()
		if err == nil && n["test:peers"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the peers did not subscribe")
		}
		time.Sleep(10 * time.Millisecond) // polling Redis, bounded
	}
	for _, bad := range []string{"", "x", "x y", "x notanumber uid", "x 12 "} {
		if err := c.Publish(context.Background(), "test:peers", bad).Err(); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Unix(1700000000, 123456789)
	a.Registered("u 1", at) // a uid may hold spaces
	select {
	case f := <-gotB:
		if f.uid != "u 1" || !f.at.Equal(at) {
			t.Fatalf("b forgets %q at %v, want \"u 1\" at %v", f.uid, f.at, at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b was not told")
	}
	// What each is told next is the other's next announcement: nothing
	// of its own, nothing bad, nothing twice came before it.
	a.Registered("end-a", at)
	b.Registered("end-b", at)
	for _, c := range []struct {
		got  <-chan forgotten
		want string
	}{{gotB, "end-a"}, {gotA, "end-b"}} {
		select {
		case f := <-c.got:
			if f.uid != c.want {
				t.Fatalf("told to forget %q, want %q next", f.uid, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not announced", c.want)
		}
	}
}

// FuzzParseAnnouncement: any message is read without panic, and what is
// read is written back to the same message.
func FuzzParseAnnouncement(f *testing.F) {
	for _, s := range []string{"a 1 u", "a 1700000000123456789 u v", "", "a", "a b c", " 1 u", "a -5 u", "a 1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		inst, a, ok := parseAnnouncement(msg)
		if !ok {
			return
		}
		again := formatAnnouncement(inst, a)
		inst2, a2, ok := parseAnnouncement(again)
		if !ok || inst2 != inst || a2.uid != a.uid || !a2.at.Equal(a.at) {
			t.Fatalf("%q → %q → %q %+v %v", msg, again, inst2, a2, ok)
		}
	})
}
