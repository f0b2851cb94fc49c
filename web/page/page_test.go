package page

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler(Config{CSRFToken: func(*http.Request) string { return `t<"&>` }})
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	w := get("/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `<meta name="csrf-token" content="t&lt;&#34;&amp;&gt;">`) {
		t.Fatalf("GET / = %d, token not injected:\n%s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, p := range []string{"/assets/app.js", "/assets/transit.js", "/assets/style.css"} {
		if w := get(p); w.Code != 200 || w.Body.Len() == 0 {
			t.Errorf("GET %s = %d", p, w.Code)
		}
	}
	for _, p := range []string{"/nope", "/assets/index.html", "/assets/missing.js"} {
		if w := get(p); w.Code != 404 {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
}
