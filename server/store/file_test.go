package store

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

func lineCount(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func openStore(t *testing.T, cfg Config) *Memory {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPersistRestart checks that a restart keeps the history, for parsed
// tweets (kept as read) and generated ones.
func TestPersistRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tweets.jsonl")
	cfg := Config{Path: path}
	s := openStore(t, cfg)
	tweets := corpus.MustLoad(t)
	addAll(t, s, tweets)
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var generated []*tweet.Tweet
	for range 50 {
		tw := g.Next()
		generated = append(generated, tw)
		if err := s.Add(tw); err != nil {
			t.Fatal(err)
		}
	}
	q := corpus.MustParse(t, "*", corpus.ClientOptions)
	before := search(t, s, q, 0, 500)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(tweets[0]); err != ErrClosed {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if n := lineCount(t, path); n != 74 {
		t.Errorf("file has %d lines, want 74", n)
	}

	s2 := openStore(t, cfg)
	defer s2.Close()
	if s2.Count() != 74 {
		t.Fatalf("after restart Count() = %d, want 74", s2.Count())
	}
	after := search(t, s2, q, 0, 500)
	if !sameStripped(t, before, after) {
		t.Error("search results differ after restart")
	}
	// Parsed tweets keep their unknown fields in the file.
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, []byte(`"source":"\u003ca href=`)) && !bytes.Contains(raw, []byte(`"source":"<a href=`)) {
		t.Error("the file lost the fields the model does not know")
	}
	if _, ok := s2.Get(generated[10].IDStr); !ok {
		t.Error("generated tweet lost")
	}
}

func sameStripped(t *testing.T, a, b []tweet.Stripped) bool {
	t.Helper()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if *a[i].IDStr != *b[i].IDStr || *a[i].Text != *b[i].Text ||
			(a[i].RetweetedStatus == nil) != (b[i].RetweetedStatus == nil) {
			return false
		}
	}
	return true
}

// TestPersistCompactOnLoad checks that a restart with a smaller capacity
// keeps the newest tweets and rewrites the file, and that a torn last line
// (a crash mid-write) is skipped.
func TestPersistCompactOnLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tweets.jsonl")
	s := openStore(t, Config{Path: path})
	addAll(t, s, corpus.MustLoad(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"created_at":"Mon Dec 22 23:45:01 +0000 2014","id":5468`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, Config{Path: path, Capacity: 5})
	defer s2.Close()
	if got := numbers(t, search(t, s2, corpus.MustParse(t, "*", corpus.ClientOptions), 0, 100)); !slices.Equal(got, []int{24, 23, 22, 21, 20}) {
		t.Errorf("after reload with capacity 5: %v", got)
	}
	if n := lineCount(t, path); n != 5 {
		t.Errorf("compacted file has %d lines, want 5", n)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// TestPersistCompactWhileRunning checks that the file stays bounded.
func TestPersistCompactWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tweets.jsonl")
	s := openStore(t, Config{Path: path, Capacity: 100})
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if err := s.Add(g.Next()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := lineCount(t, path); n > compactFactor*100 {
		t.Errorf("file has %d lines for a capacity of 100", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, Config{Path: path, Capacity: 100})
	defer s2.Close()
	if s2.Count() != 100 {
		t.Errorf("after restart Count() = %d, want 100", s2.Count())
	}
}
