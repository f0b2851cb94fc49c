package main

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/hub"
	"github.com/sente-go/sente/transit"
)

// metricsEventIDs are the client events counted by id
// (sente_events_received_total): BirdWatch's commands; any other id is
// counted as "other".
var metricsEventIDs = []transit.Keyword{hub.IDPercolate, hub.IDQuery, hub.IDMissing}

// newMetricsRegistry returns the registry /metrics serves: the Sente
// server's collector, the hub's, the store's size and the live queries
// percolated here, and the Go runtime's and the process's.
func newMetricsRegistry(a *app) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		a.sente.Collector(),
		a.hub.Collector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sente_store_tweets", Help: "Tweets in the store (at most -store-size).",
		}, func() float64 { return float64(a.store.Count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sente_live_queries", Help: "Uids whose live query this instance percolates.",
		}, func() float64 { return float64(a.perc.Len()) }),
	)
	return reg
}

// metricsHandler serves reg in the Prometheus text (or OpenMetrics)
// format; an error collecting one metric is logged and the rest served.
func metricsHandler(reg *prometheus.Registry, log zerolog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// promLogger sends promhttp's errors to zerolog.
type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn().Msgf("%v", v) }

// listenMetrics listens on addr (-metrics-addr) for a metrics server of
// its own, or returns nil for "": /metrics is then served on the listen
// address.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	return net.Listen("tcp", addr)
}

// startMetrics serves /metrics of reg on ln, and returns a function that
// closes the server and waits for it.
func startMetrics(ln net.Listener, reg *prometheus.Registry, log zerolog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(reg, log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: defaultLimits.header, IdleTimeout: defaultLimits.idle}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) // returns http.ErrServerClosed once stop closes it
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("metrics server listening")
	return func() {
		srv.Close()
		<-done
	}
}

// withMetrics serves metrics at /metrics and everything else with next.
func withMetrics(next, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			metrics.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
