package web

import (
	"net/http"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// metricsOf registers ts's collector in a registry of the test's.
func metricsOf(t *testing.T, ts *testServer) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(ts.s.Collector()); err != nil {
		t.Fatal(err)
	}
	return reg
}

// sample returns the value of the sample of metric name whose labels
// include labels (name=value pairs), summed over the samples that match;
// a histogram's value is its sample count.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var sum float64
	found := false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	if !found {
		t.Fatalf("no sample %s%q", name, labels)
	}
	return sum
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
			return l.GetName() == pairs[i] && l.GetValue() == pairs[i+1]
		}) {
			return false
		}
	}
	return true
}

// waitSample waits until sample(name, labels) is want.
func waitSample(t *testing.T, g prometheus.Gatherer, want float64, name string, labels ...string) {
	t.Helper()
	var got float64
	if !testsupport.Eventually(waitFor, func() bool {
		got = sample(t, g, name, labels...)
		return got == want
	}) {
		t.Fatalf("%s%q = %v, want %v", name, labels, got, want)
	}
}

// TestMetricsCollector checks what a Server's collector reports of one
// WebSocket client's life: its connection (by generation) and close, its
// handshake, an event counted by its id, a push (its frame and bytes and
// its batch), and a refused upgrade.
func TestMetricsCollector(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsEventIDs = []transit.Keyword{"test/hello", "test/hello"} // a duplicate counts once
	ts := newTestServer(t, cfg)
	reg := metricsOf(t, ts)
	// The pedantic registry checks what is collected against what is
	// described; the linter checks names and help.
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("the collector's metrics are not consistent: %v", err)
	}
	if problems, err := testutil.CollectAndLint(ts.s.Collector()); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	p := profileNamed(t, "v2")

	if got := sample(t, reg, "sente_connections"); got != 0 {
		t.Fatalf("sente_connections before any client = %v", got)
	}
	c := ts.dialWS(t, "v2", p, "metrics")
	c.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	c.send(helloEvent(1), "")
	ts.expectEvent(t, "test/hello")
	c.send(echoEvent("x"), "")
	ts.expectEvent(t, "test/echo")
	waitSample(t, reg, 1, "sente_connections", "transport", "ws", "generation", "v2")
	if got := sample(t, reg, "sente_connections"); got != 1 {
		t.Errorf("sente_connections = %v, want 1", got)
	}
	waitSample(t, reg, 1, "sente_handshakes_total", "transport", "ws")
	if got := sample(t, reg, "sente_handshakes_total", "transport", "ajax"); got != 0 {
		t.Errorf("ajax handshakes = %v, want 0", got)
	}
	if got := sample(t, reg, "sente_connected_uids"); got != 1 {
		t.Errorf("sente_connected_uids = %v, want 1", got)
	}
	parked := 1.0 // the client has sent nothing more
	if ts.s.poll == nil || *noPark {
		parked = 0
	}
	waitSample(t, reg, parked, "sente_websockets_parked")
	for _, e := range []struct {
		event string
		want  float64
	}{{"test/hello", 1}, {"other", 1}} {
		if got := sample(t, reg, "sente_events_received_total", "event", e.event); got != e.want {
			t.Errorf("events %s = %v, want %v", e.event, got, e.want)
		}
	}

	frames := sample(t, reg, "sente_frames_sent_total", "transport", "ws")
	bytes := sample(t, reg, "sente_sent_bytes_total", "transport", "ws")
	ts.send(t, "u-metrics", helloEvent(2))
	ts.flush()
	sf := c.expectValue()
	checkBatch(t, "v2", sf, 1)
	if got := sample(t, reg, "sente_pushes_total", "kind", "send"); got != 1 {
		t.Errorf("pushes send = %v, want 1", got)
	}
	if got := sample(t, reg, "sente_push_batch_events", "transport", "ws"); got != 1 {
		t.Errorf("ws push batches = %v, want 1", got)
	}
	waitSample(t, reg, frames+1, "sente_frames_sent_total", "transport", "ws")
	// The bytes of the one frame the client read.
	frame, err := p.dialect().Batch(helloEvent(2))
	if err != nil {
		t.Fatal(err)
	}
	if got := sample(t, reg, "sente_sent_bytes_total", "transport", "ws"); got != bytes+float64(len(frame)) {
		t.Errorf("ws bytes = %v, want %v + %d", got, bytes, len(frame))
	}

	_, resp, err := ts.dialWSRaw(t, "bad", p.wsQuery("metrics-bad", "wrong token"), http.Header{"Origin": {testOrigin}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bad CSRF: %v, %v", resp, err)
	}
	if got := sample(t, reg, "sente_requests_refused_total", "reason", "csrf"); got != 1 {
		t.Errorf("csrf refusals = %v, want 1", got)
	}
	if got := sample(t, reg, "sente_requests_refused_total"); got != 1 {
		t.Errorf("refusals = %v, want 1", got)
	}

	c.close()
	waitSample(t, reg, 0, "sente_connections")
	waitSample(t, reg, 0, "sente_websockets_parked")
	if got := sample(t, reg, "sente_handshakes_total"); got != 1 {
		t.Errorf("handshakes = %v, want 1 (the refused upgrade has none)", got)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("the collector's metrics are not consistent: %v", err)
	}
}

// TestMetricsAjax checks the Ajax side: a handshake, a held poll, a POST
// whose callback is answered, and one with a bad page token.
func TestMetricsAjax(t *testing.T) {
	ts := newTestServer(t, testConfig())
	reg := metricsOf(t, ts)
	a := ts.ajax(t, "v2", profileNamed(t, "v2"), "metrics-ajax")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	if got := sample(t, reg, "sente_handshakes_total", "transport", "ajax"); got != 1 {
		t.Errorf("ajax handshakes = %v, want 1", got)
	}
	waitSample(t, reg, 1, "sente_connections", "transport", "ajax", "generation", "v2")
	answer := a.pollAsync()
	ts.waitHeld(t, a.cid)
	if got := sample(t, reg, "sente_held_polls"); got != 1 {
		t.Errorf("held polls = %v, want 1", got)
	}
	ts.send(t, "u-metrics-ajax", helloEvent(1))
	ts.flush()
	a.expectBatch(answer(), 1)
	waitSample(t, reg, 0, "sente_held_polls")

	reply := a.postAsync(echoEvent("q"), true)
	m := ts.expectEvent(t, "test/echo")
	ts.reply(t, m, "a")
	reply()
	if got := sample(t, reg, "sente_callbacks_total", "transport", "ajax", "outcome", "answered"); got != 1 {
		t.Errorf("ajax callbacks answered = %v, want 1", got)
	}
	// handshake, batch, reply
	if got := sample(t, reg, "sente_frames_sent_total", "transport", "ajax"); got != 3 {
		t.Errorf("ajax frames = %v, want 3", got)
	}
	frame, err := a.p.dialect().ClientFrame(echoEvent("r"), protocol.Callback{})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := a.postRaw(frame, "wrong token", http.Header{headerCSRF: {"wrong token"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("POST with a bad token: %d %s", r.status, r.body)
	}
	if got := sample(t, reg, "sente_requests_refused_total", "reason", "csrf"); got != 1 {
		t.Errorf("csrf refusals = %v, want 1", got)
	}
}
