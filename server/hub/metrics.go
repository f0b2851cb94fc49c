package hub

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hub's counters and latency histograms (Hub.Collector).
// Every labelled child is resolved once, in newMetrics: counting looks
// nothing up.
type metrics struct {
	ingested prometheus.Counter

	historyQuery, historyMissing prometheus.Counter // requests queued, by kind
	overBudget, overCap          prometheus.Counter // history requests answered with no tweets, by reason
	historyLatency               prometheus.Histogram
	percolation                  prometheus.Histogram

	liveRegistered                         prometheus.Counter
	liveTooCostly, liveUnparsed, liveOther prometheus.Counter

	all []prometheus.Collector
}

// latencyBuckets are the buckets of the latency histograms, in seconds:
// from 10 µs (a percolation of a few live queries) to 2.5 s (a history
// query near the store's timeout).
var latencyBuckets = []float64{1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

func newMetrics() *metrics {
	historyRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sente_history_requests_total",
		Help: "History requests queued for the store, by kind: query (:cmd/query) or missing (:cmd/missing).",
	}, []string{"kind"})
	historyRefused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sente_history_requests_refused_total",
		Help: "History requests answered with no tweets, by reason: over_cap (the uid's share of the pool, Config.HistoryPerUID) or over_budget (the store's cost budget).",
	}, []string{"reason"})
	liveRefused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sente_live_queries_refused_total",
		Help: "Live queries (:cmd/percolate) not registered, by reason: too_costly (percolator.ErrTooCostly), does_not_parse, other.",
	}, []string{"reason"})
	m := &metrics{
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sente_tweets_ingested_total", Help: "New tweets added to the store.",
		}),
		historyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sente_history_query_duration_seconds", Help: "Time the store took to answer a history query (:cmd/query).",
			Buckets: latencyBuckets,
		}),
		percolation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sente_percolation_duration_seconds", Help: "Time the percolator took to match one new tweet against the live queries.",
			Buckets: latencyBuckets,
		}),
		liveRegistered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sente_live_queries_registered_total", Help: "Live queries (:cmd/percolate) registered here.",
		}),
		historyQuery:   historyRequests.WithLabelValues("query"),
		historyMissing: historyRequests.WithLabelValues("missing"),
		overBudget:     historyRefused.WithLabelValues("over_budget"),
		overCap:        historyRefused.WithLabelValues("over_cap"),
		liveTooCostly:  liveRefused.WithLabelValues("too_costly"),
		liveUnparsed:   liveRefused.WithLabelValues("does_not_parse"),
		liveOther:      liveRefused.WithLabelValues("other"),
	}
	m.all = []prometheus.Collector{m.ingested, m.historyLatency, m.percolation, m.liveRegistered,
		historyRequests, historyRefused, liveRefused}
	return m
}

// since returns the seconds from start to now.
func since(start time.Time) float64 { return time.Since(start).Seconds() }

// Collector returns the hub's metrics collector: tweets ingested, history
// requests (queued, refused) and their latency, percolation latency, live
// queries registered and refused. Register it with the application's
// registry; the hub registers nothing itself.
func (h *Hub) Collector() prometheus.Collector { return collector{h.metrics} }

// collector is the prometheus.Collector of a Hub's metrics.
type collector struct{ m *metrics }

// Describe sends the descriptions of every metric.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c.m.all {
		x.Describe(ch)
	}
}

// Collect sends the current values.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c.m.all {
		x.Collect(ch)
	}
}
