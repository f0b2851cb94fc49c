package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// scraped is one scrape of /metrics: each sample's value by its name and
// labels, as "name{k=v,…}" with the labels in the exposition's order;
// a histogram gives name_count and name_sum.
type scraped map[string]float64

// scrape reads base's /metrics in the Prometheus text format.
func scrape(t *testing.T, base string) scraped {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	s := scraped{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := name + labelsKey(m)
			switch {
			case m.Counter != nil:
				s[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				s[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				s[name+"_count"+labelsKey(m)] = float64(m.Histogram.GetSampleCount())
				s[name+"_sum"+labelsKey(m)] = m.Histogram.GetSampleSum()
			case m.Untyped != nil:
				s[key] = m.Untyped.GetValue()
			}
		}
	}
	return s
}

func labelsKey(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// get returns the sample key, failing when the scrape lacks it.
func (s scraped) get(t *testing.T, key string) float64 {
	t.Helper()
	v, ok := s[key]
	if !ok {
		t.Fatalf("/metrics has no sample %s", key)
	}
	return v
}

// sum adds the samples of name whose labels include every pair of
// labels ("k=v").
func (s scraped) sum(name string, labels ...string) float64 {
	var total float64
	for key, v := range s {
		base, rest, _ := strings.Cut(key, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(","+strings.TrimSuffix(rest, "}")+",", ","+l+",") {
				ok = false
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// TestMetricsScrape scrapes /metrics around a scripted session: the
// BirdWatch search of a Sente 1.3 client over a WebSocket and of one over
// Ajax, a Sente 1.21 client's handshake over each transport, and an
// upgrade with a bad CSRF token. The counters move by exactly what the
// session did, and the connections are back to 0 once the clients left.
func TestMetricsScrape(t *testing.T) {
	const page = "metrics-page-token"
	src := make(chanSource)
	in := startInstance(t, config{source: "none", storeSize: 1000, csrfToken: page}, src)
	feed, history := birdwatchHistory(t, in, src) // 11 tweets
	before := scrape(t, in.url)
	if got := before.get(t, "sente_store_tweets"); got != 11 {
		t.Fatalf("sente_store_tweets = %v, want 11", got)
	}

	// Sente 1.3 over a WebSocket: the BirdWatch session.
	var transcript strings.Builder
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(in.url, "http")+"/chsk?client-id=metrics-flexi-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws := &flexiClient{t: t, conn: conn, transcript: &transcript, ignore: liveHistory(history)}
	ws.await("chsk/handshake", 5*time.Second)
	birdwatchSession(t, ws, feed)
	conn.Close()

	// Sente 1.3 over Ajax: a search (its first chunk now has the
	// session's live tweet too) and a missing tweet.
	aj := newFlexiAjaxClient(t, in.url, "metrics-flexi-ajax", &transcript)
	aj.ignore = liveHistory(history)
	aj.start()
	aj.await("chsk/handshake", 5*time.Second)
	q := birdwatchQuery("(clojure) AND lang:en")
	aj.send("cmd/percolate", transit.NewMap(transit.Keyword("query"), q, transit.Keyword("uid"), aj.uid))
	for k := 0; k < 4; k++ {
		aj.send("cmd/query", transit.NewMap(transit.Keyword("query"), q, transit.Keyword("n"), 500,
			transit.Keyword("uid"), aj.uid, transit.Keyword("from"), 500*k))
	}
	for range 4 {
		aj.await("tweet/prev-chunk", 5*time.Second)
	}
	aj.send("cmd/missing", transit.NewMap(transit.Keyword("id_str"), "1", transit.Keyword("uid"), aj.uid))
	aj.await("tweet/missing-tweet", 5*time.Second)
	aj.finish()

	// Sente 1.21: a handshake over a WebSocket (hello closes it), and
	// one over Ajax.
	hello(t, in.url, "client-id=metrics-v2-ws&csrf-token="+page, protocol.GenV2)
	req, err := http.NewRequest(http.MethodGet, in.url+"/chsk?udt=1&client-id=metrics-v2-ajax&handshake%3F=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF-Token", page)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sf, err := protocol.GenV2.ParseServerFrame(body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("v2 handshake poll: %d %s %v", resp.StatusCode, body, err)
	} else if _, err := protocol.HandshakeFromValue(sf.Value); err != nil {
		t.Fatalf("v2 handshake poll answered %s", body)
	}

	// A WebSocket with a bad token: refused.
	_, resp, err = websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(in.url, "http")+"/chsk?client-id=metrics-bad&csrf-token="+url.QueryEscape("not the token"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bad CSRF token: %v, %v", resp, err)
	}

	// The connections close: the WebSockets at once, the Ajax clients
	// after the disconnect grace (5 s) since their last poll.
	var after scraped
	deadline := time.Now().Add(20 * time.Second)
	for {
		after = scrape(t, in.url)
		if after.sum("sente_connections") == 0 && after.get(t, "sente_held_polls") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections left: ws %v, ajax %v; held polls %v", after.sum("sente_connections", "transport=ws"),
				after.sum("sente_connections", "transport=ajax"), after.get(t, "sente_held_polls"))
		}
		time.Sleep(50 * time.Millisecond) // polling the scrape, bounded by deadline
	}

	for _, c := range []struct {
		key  string
		want float64
	}{
		{`sente_handshakes_total{transport=ws}`, 2},
		{`sente_handshakes_total{transport=ajax}`, 2},
		{`sente_events_received_total{event=cmd/percolate}`, 2},
		{`sente_events_received_total{event=cmd/query}`, 8},
		{`sente_events_received_total{event=cmd/missing}`, 3},
		{`sente_events_received_total{event=other}`, 0},
		{`sente_history_requests_total{kind=query}`, 8},
		{`sente_history_requests_total{kind=missing}`, 3},
		{`sente_history_query_duration_seconds_count`, 8},
		{`sente_history_requests_refused_total{reason=over_cap}`, 0},
		{`sente_history_requests_refused_total{reason=over_budget}`, 0},
		{`sente_live_queries_registered_total`, 2},
		{`sente_live_queries_refused_total{reason=too_costly}`, 0},
		{`sente_tweets_ingested_total`, 3},
		{`sente_percolation_duration_seconds_count`, 3},
		{`sente_requests_refused_total{reason=csrf}`, 1},
		{`sente_requests_refused_total{reason=origin}`, 0},
		{`sente_slow_consumers_total{transport=ws}`, 0},
		{`sente_frames_refused_total{reason=malformed,transport=ws}`, 0},
	} {
		if got := after.get(t, c.key) - before.get(t, c.key); got != c.want {
			t.Errorf("%s moved by %v, want %v", c.key, got, c.want)
		}
	}
	for _, c := range []struct {
		key  string
		want float64
	}{
		{"sente_store_tweets", 14},
		{"sente_live_queries", 2}, // kept for the hub's LiveGrace (30 s)
		{"sente_backplane_up{component=broker}", 1},
		{"sente_backplane_up{component=cluster}", 1},
	} {
		if got := after.get(t, c.key); got != c.want {
			t.Errorf("%s = %v, want %v", c.key, got, c.want)
		}
	}
	// Pushes went out in frames on both transports; the pushes are the
	// hub's Sends (chunks, live tweets, missing tweets) and its stats.
	for _, tr := range []string{"ws", "ajax"} {
		frames := after.sum("sente_frames_sent_total", "transport="+tr) - before.sum("sente_frames_sent_total", "transport="+tr)
		bytes := after.sum("sente_sent_bytes_total", "transport="+tr) - before.sum("sente_sent_bytes_total", "transport="+tr)
		if frames < 8 || bytes <= frames {
			t.Errorf("%s: %v frames, %v bytes sent", tr, frames, bytes)
		}
	}
	// The answers: 4 chunks, 1 live tweet and 2 missing tweets to the
	// WebSocket client, 4 chunks and 1 missing tweet to the Ajax one.
	if got := after.sum("sente_pushes_total", "kind=send") - before.sum("sente_pushes_total", "kind=send"); got != 12 {
		t.Errorf("sends moved by %v, want 12", got)
	}
}
