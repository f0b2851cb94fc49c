// Package page is the built-in BirdWatch page: plain HTML, CSS and
// JavaScript embedded in the binary, no build step and no request to any
// other host. app.js is a Sente 1.21+ client of the server at /chsk
// (WebSocket with Ajax fallback, v2 envelope, Transit JSON through its own
// transit.js) that runs BirdWatch searches (docs/birdwatch.md §3,
// §4, §8, §9).
//
// Handler serves index.html at "/" with the CSRF token in a
// <meta name="csrf-token"> tag, which the client sends on the WebSocket URL
// (csrf-token) and on every Ajax request (X-CSRF-Token), and the assets
// under "/assets/". Mount it for both:
//
//	h := page.Handler(page.Config{CSRFToken: token})
//	r.Handle("/", h)
//	r.Handle("/assets/*", h)
package page

import (
	"bytes"
	"embed"
	"html"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// tokenPlaceholder is replaced in index.html by the HTML-escaped token.
const tokenPlaceholder = "{{csrf-token}}"

// Config configures Handler.
type Config struct {
	// CSRFToken returns the token the page's client must present, as
	// web.Config.CSRFToken does. Nil puts an empty token in the page.
	CSRFToken func(r *http.Request) string
}

// Handler returns the handler of the page: index.html at "/" (and
// "/index.html"), the files of static/ at "/assets/NAME", 404 otherwise.
func Handler(cfg Config) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	assets := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/" || r.URL.Path == "/index.html":
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			token := ""
			if cfg.CSRFToken != nil {
				token = cfg.CSRFToken(r)
			}
			body := bytes.Replace(index, []byte(tokenPlaceholder), []byte(html.EscapeString(token)), 1)
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			if r.Method == http.MethodHead {
				return
			}
			w.Write(body)
		case strings.HasPrefix(r.URL.Path, "/assets/") && r.URL.Path != "/assets/index.html":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			assets.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// csp allows only this origin, except for images: the page itself makes no
// request to any other host, but replayed real tweets carry avatar URLs of
// Twitter's image hosts.
const csp = "default-src 'self'; img-src 'self' data: https:; connect-src 'self'; " +
	"style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
