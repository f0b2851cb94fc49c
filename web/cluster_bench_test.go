package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web/redistest"
)

// benchClients is the number of WebSocket clients of the cluster
// benchmarks, spread by the proxy over the instances.
const benchClients = 300

// benchPush is the event of the cluster benchmarks: its data is the round.
const benchPush kw = "bench/push"

// receipt is a client's reception of a round's push.
type receipt struct {
	round int64
	at    time.Time
}

// benchCluster is n instances behind the test proxy with benchClients
// Sente 1.21 WebSocket clients, each reading pushes on its own goroutine.
type benchCluster struct {
	servers  []*Server
	uids     []string
	receipts chan receipt
}

// newBenchCluster starts n instances: on a MemoryBroker when n is 0 (one
// instance, no Redis), else on Redis. Pushes are flushed after 1 ms, so
// that latency shows the transport, not the batch window.
func newBenchCluster(b *testing.B, n int) *benchCluster {
	b.Helper()
	window := func(c *Config) { c.WSBatchWindow = time.Millisecond }
	var tss []*testServer
	if n == 0 {
		cfg := testConfig()
		window(&cfg)
		ts := newTestServer(b, cfg)
		go func() { // uidport events: nobody else reads them
			for range ts.s.Events() {
			}
		}()
		tss = append(tss, ts)
	} else {
		rs := redistest.Start(b)
		for i := range n {
			tss = append(tss, newClusterInstance(b, rs, fmt.Sprintf("i%d", i+1), withConfig(window)).ts)
		}
	}
	front, _ := newFront(b, tss)
	bc := &benchCluster{receipts: make(chan receipt, 4*benchClients)}
	for _, ts := range tss {
		bc.servers = append(bc.servers, ts.s)
	}
	hello, err := protocol.GenV2.ClientFrame(protocol.NewEvent("bench/hello", nil), protocol.Callback{})
	if err != nil {
		b.Fatal(err)
	}
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	u := "ws" + strings.TrimPrefix(front.url, "http")
	for k := range benchClients {
		cid := fmt.Sprintf("bench%d-tab1", k)
		conn, _, err := d.Dial(u+"?client-id="+url.QueryEscape(cid)+"&csrf-token="+testToken, http.Header{"Origin": {testOrigin}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		if _, _, err := conn.ReadMessage(); err != nil { // the handshake
			b.Fatal(err)
		}
		// A first frame tells the server the client's generation, so
		// that pushes are written for it alone at once.
		if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
			b.Fatal(err)
		}
		bc.uids = append(bc.uids, testUID(nil, cid))
		go bc.read(conn)
	}
	// Every instance sees every client before the clock starts.
	want := slices.Clone(bc.uids)
	slices.Sort(want)
	deadline := time.Now().Add(waitFor)
	for _, s := range bc.servers {
		for !slices.Equal(s.ConnectedUIDs().Any, want) {
			if time.Now().After(deadline) {
				b.Fatal("the instances do not see every client")
			}
			time.Sleep(10 * time.Millisecond) // waiting for the presence heartbeat, bounded
		}
	}
	return bc
}

// read reports the rounds of the pushes conn receives until it closes.
func (bc *benchCluster) read(conn *websocket.Conn) {
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		sf, err := protocol.GenV2.ParseServerFrame(data)
		if err != nil {
			continue
		}
		evs, _ := sf.Value.([]any)
		for _, v := range evs {
			ev, err := protocol.EventFromValue(v)
			if err != nil || ev.ID != transit.Keyword(benchPush) {
				continue
			}
			round, _ := ev.Data.(int64)
			bc.receipts <- receipt{round: round, at: at}
		}
	}
}

// await collects n receipts of round, returning their latencies from
// sent; receipts of other rounds are errors.
func (bc *benchCluster) await(b *testing.B, round int64, n int, sent time.Time, lat []time.Duration) []time.Duration {
	timeout := time.After(waitFor)
	for range n {
		select {
		case r := <-bc.receipts:
			if r.round != round {
				b.Fatalf("round %d received during round %d", r.round, round)
			}
			lat = append(lat, r.at.Sub(sent))
		case <-timeout:
			b.Fatalf("round %d: not every client received it", round)
		}
	}
	return lat
}

// reportLatency adds the percentiles of lat to the benchmark's metrics.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// clusterSizes are the arrangements compared: one instance without Redis,
// one on Redis, three on Redis; all behind the same proxy.
var clusterSizes = []struct {
	name string
	n    int
}{{"memory-1", 0}, {"redis-1", 1}, {"redis-3", 3}}

// BenchmarkClusterBroadcast broadcasts from each instance in turn to all
// benchClients clients: ns/op is one round (until the last client has
// it), deliveries/s the pushes clients received per second, p50/p99 the
// latency of a delivery.
func BenchmarkClusterBroadcast(b *testing.B) {
	for _, size := range clusterSizes {
		b.Run(size.name, func(b *testing.B) {
			bc := newBenchCluster(b, size.n)
			lat := make([]time.Duration, 0, b.N*benchClients)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				sent := time.Now()
				if err := bc.servers[i%len(bc.servers)].Broadcast(protocol.NewEvent(transit.Keyword(benchPush), int64(i))); err != nil {
					b.Fatal(err)
				}
				lat = bc.await(b, int64(i), benchClients, sent, lat)
			}
			b.ReportMetric(float64(b.N*benchClients)/time.Since(start).Seconds(), "deliveries/s")
			reportLatency(b, lat)
		})
	}
}

// BenchmarkClusterSend pushes to one user at a time, from each instance
// in turn, so that with three instances two pushes in three cross Redis:
// ns/op and p50/p99 are the latency of one push.
func BenchmarkClusterSend(b *testing.B) {
	for _, size := range clusterSizes {
		b.Run(size.name, func(b *testing.B) {
			bc := newBenchCluster(b, size.n)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				sent := time.Now()
				uid := bc.uids[i%len(bc.uids)]
				if err := bc.servers[(i/len(bc.uids)+i)%len(bc.servers)].Send(uid, protocol.NewEvent(transit.Keyword(benchPush), int64(i))); err != nil {
					b.Fatal(err)
				}
				lat = bc.await(b, int64(i), 1, sent, lat)
			}
			reportLatency(b, lat)
		})
	}
}
