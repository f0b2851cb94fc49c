package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web"
)

// A server's metrics in a registry of the application's own: the library
// registers nothing globally. Config.MetricsEventIDs names the event ids
// counted by id; the others count as "other".
func ExampleServer_Collector() {
	s, err := web.New(web.Config{MetricsEventIDs: []transit.Keyword{"cmd/echo"}})
	if err != nil {
		panic(err)
	}
	defer s.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	fmt.Println(rec.Code)
	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families[:3] {
		fmt.Println(f.GetName())
	}
	// Output:
	// 200
	// sente_backplane_dropped_total
	// sente_backplane_publish_errors_total
	// sente_backplane_up
}
