package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboard checks that every metric the Grafana dashboard
// (deploy/grafana/sente.json) queries is one a running app exports: the
// sente_ names of each panel's PromQL expr, without the _bucket, _sum
// and _count of histograms, against the registry of an app.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana/sente.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	in := startInstance(t, config{source: "none", storeSize: 1000}, nil)
	mfs, err := in.app.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
	}
	name := regexp.MustCompile(`sente_\w+`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := name.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q queries no sente_ metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base := strings.TrimSuffix(n, suffix); base != n && exported[base] {
						n = base
						break
					}
				}
				if !exported[n] {
					t.Errorf("panel %q queries %s, which the server does not export", p.Title, n)
				}
				used[n] = true
			}
		}
	}
	// Every sente_ metric has a panel.
	for n := range exported {
		if strings.HasPrefix(n, "sente_") && !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}
