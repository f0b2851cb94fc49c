package protocol

import "testing"

// birdWatchQuery is a BirdWatch history query as the 1.3.0-RC1 client sends
// it (docs/birdwatch.md §2.2), with the Transit cache in use ("^1" is ~:query).
const birdWatchQuery = `+j[["~:cmd/query",["^ ","~:query",["^ ","~:query_string",["^ ","~:default_field","text",` +
	`"~:default_operator","AND","^1","(clojure) AND lang:en"]],"~:n",500,` +
	`"~:uid","7f3c2a9e-4d1b-4c8e-9a6f-2b6f1e0c9d77","~:from",1000]]]`

// BenchmarkParseClientFrame parses the BirdWatch :cmd/query frame.
func BenchmarkParseClientFrame(b *testing.B) {
	frame := []byte(birdWatchQuery)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		cf, err := ParseClientFrame(frame)
		if err != nil || cf.Event.ID != "cmd/query" {
			b.Fatalf("ParseClientFrame = %+v, %v", cf, err)
		}
	}
}

// BenchmarkBatch packs a push batch of 10 full tweets for one generation,
// the work of one broadcast.
func BenchmarkBatch(b *testing.B) {
	evs := tweetBatch(10)
	frame, err := GenFlexi.Batch(evs...)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenFlexi.Batch(evs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackBatchAll packs the same batch once for all four generations.
func BenchmarkPackBatchAll(b *testing.B) {
	evs := tweetBatch(10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PackBatch(evs, AllGenerations); err != nil {
			b.Fatal(err)
		}
	}
}
