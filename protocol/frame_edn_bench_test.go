package protocol

import "testing"

// birdWatchQueryEDN is birdWatchQuery as a 1.9–1.17 client with Sente's
// default EDN packer sends it.
const birdWatchQueryEDN = `+[[:cmd/query {:query {:query_string {:default_field "text", :default_operator "AND", ` +
	`:query "(clojure) AND lang:en"}}, :n 500, :uid "7f3c2a9e-4d1b-4c8e-9a6f-2b6f1e0c9d77", :from 1000}]]`

// BenchmarkParseClientFrameEDN parses the BirdWatch :cmd/query frame in
// EDN, next to BenchmarkParseClientFrame's Transit.
func BenchmarkParseClientFrameEDN(b *testing.B) {
	frame := []byte(birdWatchQueryEDN)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		cf, err := ParseClientFrame(frame)
		if err != nil || cf.Event.ID != "cmd/query" || cf.Format != FormatEDN {
			b.Fatalf("ParseClientFrame = %+v, %v", cf, err)
		}
	}
}

// BenchmarkBatchEDN packs a push batch of 10 full tweets in EDN for one
// generation, next to BenchmarkBatch's Transit.
func BenchmarkBatchEDN(b *testing.B) {
	evs := tweetBatch(10)
	d := Dialect{GenV1, FormatEDN}
	frame, err := d.Batch(evs...)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Batch(evs...); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBirdWatchQueryEDN checks that the benchmark frame is the Transit
// one's event in EDN.
func TestBirdWatchQueryEDN(t *testing.T) {
	e, err1 := ParseClientFrame([]byte(birdWatchQueryEDN))
	tr, err2 := ParseClientFrame([]byte(birdWatchQuery))
	if err1 != nil || err2 != nil || e.Generation != GenV1 || tr.Generation != GenFlexi {
		t.Fatalf("%+v, %v; %+v, %v", e, err1, tr, err2)
	}
	again, err := e.Dialect().ClientFrame(tr.Event, tr.Callback)
	if err != nil || string(again) != birdWatchQueryEDN {
		t.Errorf("the Transit event in EDN: %s, %v", again, err)
	}
}
