package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/web/redistest"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// findChromium returns the browser to drive, failing under CI (.ci/run
// installs it) and skipping loudly elsewhere.
func findChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("SENTE_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := fmt.Sprintf("chromium not found at %s: the browser test of the BirdWatch page cannot run (apt-get install -y chromium)", path)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("!!! SKIPPED: " + msg)
	return ""
}

// consoleLog collects what a tab reports as an error: console.error and
// console.warn calls, uncaught exceptions, and browser log entries of
// level error or warning (failed requests, CSP violations).
type consoleLog struct {
	mu   sync.Mutex
	errs []string
}

func (c *consoleLog) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// listen collects the tab's console messages until ctx ends; the
// returned channel closes when it has stopped.
func (c *consoleLog) listen(ctx context.Context) <-chan struct{} {
	msgs := chromedp.Console(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for m, err := range msgs {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				c.add("%s at %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text)
			}
		}
	}()
	return stopped
}

func (c *consoleLog) check(t *testing.T, tab string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.errs {
		t.Errorf("%s tab: %s", tab, e)
	}
}

// tab is one browser tab on the page.
type tab struct {
	name, path, transport string
	ctx                   context.Context
	cancel                context.CancelFunc
	log                   consoleLog
	logStopped            <-chan struct{}
}

// pageInt reads an element's text as a number ("1,234" → 1234; -1 when
// it is not a number).
func pageInt(ctx context.Context, sel string) (int, error) {
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), ",", ""))
	if err != nil {
		return -1, nil
	}
	return n, nil
}

// TestBrowserPage drives the built-in BirdWatch page (package web/page)
// in headless Chromium against the server with the synthetic source: one
// tab over a WebSocket, one forced to Ajax long polling, both searching.
func TestBrowserPage(t *testing.T) {
	chromium := findChromium(t)
	cfg := config{source: "synthetic", seed: 7, rate: 20, backfill: 3000, storeSize: 20000}
	in := startInstance(t, cfg, nil)
	browsePage(t, chromium, in.url, "", cfg.backfill)
}

// TestBrowserPageCluster drives the page against three instances on
// Redis behind the round-robin proxy: the page, the WebSocket, every
// poll and POST of the Ajax tab go to the instances in turn; instance 1
// publishes the synthetic tweets, all three receive them from Redis.
func TestBrowserPageCluster(t *testing.T) {
	chromium := findChromium(t)
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	cfg := config{source: "redis", storeSize: 20000, redisAddr: rs.Addr(), redisTweets: "test:tweets"}
	var insts []*instance
	for i := range 3 {
		c := cfg
		if i == 2 { // the publisher starts once the others read: its backfill reaches them
			awaitSources(t, insts...)
			c.source, c.redisPublish, c.seed, c.rate, c.backfill = "synthetic", true, 7, 20, 3000
		}
		insts = append(insts, startInstance(t, c, nil))
	}
	for _, in := range insts { // history answers the same everywhere
		testsupport.Await(t, 20*time.Second, "every instance stores the backfill", func() bool { return in.app.store.Count() >= 3000 })
	}
	browsePage(t, chromium, startFront(t, insts).URL, "-cluster", 3000)
}

// startBrowser starts headless chromium for ctx; it is stopped when ctx
// ends or the test does.
func startBrowser(t *testing.T, ctx context.Context, chromium string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1500), // tall enough for the sidebar: stats, words, cloud, tweets per minute
	)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return browserCtx
}

// browsePage runs the page at base in two tabs (WebSocket, Ajax): search,
// matching tweets, counts (backfill tweets at least), sorting, and no
// console error; screenshots go to testdata/out with suffix.
func browsePage(t *testing.T, chromium, base, suffix string, backfill int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	browserCtx := startBrowser(t, ctx, chromium)

	tabs := []*tab{
		{name: "websocket", path: "/", transport: "ws"},
		{name: "ajax", path: "/?transport=ajax", transport: "ajax"},
	}
	const search = "police"
	for _, tb := range tabs {
		tb.ctx, tb.cancel = chromedp.NewContext(browserCtx)
		defer tb.cancel()
		tb.logStopped = tb.log.listen(tb.ctx)
		err := chromedp.Do(tb.ctx,
			chromedp.Navigate(base+tb.path),
			chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="open"]`)),
		)
		if err != nil {
			t.Fatalf("%s tab: loading the page: %v", tb.name, err)
		}
		attr, err := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS(`#conn`), "data-transport"))
		if err != nil {
			t.Fatal(err)
		}
		transport := attr.Value
		title, err := chromedp.Run(tb.ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(tb.ctx,
			chromedp.SendKeys(chromedp.CSS(`#search-input`), search),
			chromedp.Click(chromedp.CSS(`#search-button`)),
		)
		if err != nil {
			t.Fatalf("%s tab: searching: %v", tb.name, err)
		}
		if transport != tb.transport {
			t.Errorf("%s tab: connected over %q, want %q", tb.name, transport, tb.transport)
		}
		if !strings.HasPrefix(title, "BirdWatch") {
			t.Errorf("%s tab: title %q", tb.name, title)
		}
	}

	for _, tb := range tabs {
		// Matching tweets appear within seconds, and only matching ones
		// (the list of the previous search is replaced at the next
		// render, every 250 ms).
		var texts []string
		err := testsupport.Poll(tb.ctx, 5*time.Second, 100*time.Millisecond, "matching tweets shown", func() (bool, error) {
			var err error
			texts, err = chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#tweet-list li.tweet .text")].map(e => e.textContent)`))
			if err != nil || len(texts) < 10 {
				return false, err
			}
			for _, s := range texts {
				if !strings.Contains(strings.ToLower(s), search) {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			for _, s := range texts {
				if !strings.Contains(strings.ToLower(s), search) {
					t.Errorf("%s tab: tweet %q does not match %q", tb.name, s, search)
				}
			}
			t.Fatalf("%s tab: %v (%d tweets)", tb.name, err, len(texts))
		}
		hash, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`location.hash`))
		if err != nil {
			t.Fatalf("%s tab: %v", tb.name, err)
		}
		if hash != "#"+search {
			t.Errorf("%s tab: URL fragment %q, want #%s", tb.name, hash, search)
		}
	}

	// Counts: users online (every 2 s; both tabs), tweets indexed (every
	// 10 s), the search's tweet count growing with live tweets, and the
	// word chart.
	for _, tb := range tabs {
		first, err := pageInt(tb.ctx, "#search-count")
		if err != nil {
			t.Fatal(err)
		}
		err = testsupport.Poll(tb.ctx, 15*time.Second, 100*time.Millisecond, "counts", func() (bool, error) {
			users, err := pageInt(tb.ctx, "#users-count")
			if err != nil {
				return false, err
			}
			total, err := pageInt(tb.ctx, "#total-count")
			if err != nil {
				return false, err
			}
			n, err := pageInt(tb.ctx, "#search-count")
			return users == len(tabs) && total >= backfill && n > first, err
		})
		if err != nil {
			texts, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`["#users-count", "#total-count", "#search-count"].map(s => document.querySelector(s).textContent)`))
			users, total, n := texts[0], texts[1], texts[2]
			t.Fatalf("%s tab: %v (users %q, total %q, search %q from %d)", tb.name, err, users, total, n, first)
		}
		// The chart is redrawn as tweets arrive: wait for a drawn one.
		err = testsupport.Poll(tb.ctx, 10*time.Second, 100*time.Millisecond, "word-frequency bars", func() (bool, error) {
			bars, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#word-chart svg rect").length`))
			return bars > 0, err
		})
		if err != nil {
			t.Errorf("%s tab: no word-frequency bars: %v", tb.name, err)
		}
		// The word cloud and the tweets per minute, drawn by hand in SVG:
		// words with text, bars with a height.
		err = testsupport.Poll(tb.ctx, 10*time.Second, 100*time.Millisecond, "word cloud and tweets per minute", func() (bool, error) {
			n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]int](`[
				[...document.querySelectorAll("#word-cloud svg text")].filter(e => e.firstChild.textContent.trim() !== "").length,
				[...document.querySelectorAll("#rate-chart svg rect")].filter(e => Number(e.getAttribute("height")) > 0).length]`))
			return err == nil && n[0] > 0 && n[1] > 0, err
		})
		if err != nil {
			html, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector("#word-cloud").outerHTML + document.querySelector("#rate-chart").outerHTML`))
			t.Errorf("%s tab: %v: %s", tb.name, err, html)
		}
	}

	// Still only matching tweets, live ones included, seconds later.
	for _, tb := range tabs {
		texts, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#tweet-list li.tweet .text")].map(e => e.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			if !strings.Contains(strings.ToLower(s), search) {
				t.Errorf("%s tab: tweet %q does not match %q", tb.name, s, search)
			}
		}
	}

	// Sorting by followers orders the list.
	err := chromedp.Do(tabs[0].ctx,
		chromedp.Click(chromedp.CSS(`label[for="sort-followers"]`)),
		chromedp.Sleep(400*time.Millisecond), // the list re-renders every 250 ms
	)
	if err != nil {
		t.Fatal(err)
	}
	followers, err := chromedp.Run(tabs[0].ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll("#tweet-list .meta span:nth-child(3)")].map(e => parseInt(e.textContent.replace(/,/g, ""), 10))`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(followers); i++ {
		if followers[i] > followers[i-1] {
			t.Errorf("sorted by followers: %v", followers)
			break
		}
	}
	if len(followers) == 0 {
		t.Error("no tweets after sorting by followers")
	}
	if err := chromedp.Do(tabs[0].ctx, chromedp.Click(chromedp.CSS(`label[for="sort-latest"]`)), chromedp.Sleep(400*time.Millisecond)); err != nil {
		t.Fatal(err)
	}

	outDir := filepath.Join("..", "testdata", "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tabs {
		png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("%s tab: screenshot: %v", tb.name, err)
		}
		path := filepath.Join(outDir, "birdwatch-"+tb.name+suffix+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}

	for _, tb := range tabs {
		tb.cancel()
		<-tb.logStopped
		tb.log.check(t, tb.name)
	}
	if err := chromedp.Cancel(browserCtx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("closing the browser: %v", err)
	}
}

// hostileURLs are link targets a tweet's entities may carry that must not
// become links: schemes other than http(s), as a browser reads them (in
// any case, after leading spaces and control characters, with tabs and
// newlines inside), and text that is no absolute URL.
var hostileURLs = []string{
	"javascript:alert(1)",
	"JavaScript:alert(1)",
	" JavaScript:alert(1)",
	"\x01\x1fjavascript:alert(1)",
	"java\tscript:alert(1)",
	"java\nscript:alert(1)",
	"\tjava\rscript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	" DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
	"vbscript:msgbox(1)",
	"VBScript:msgbox(1)",
	"/relative/path",
	"not a url",
}

// linkTweet is tweet n with the word linkcheck, one url entity per
// hostile URL (labelled bad00, bad01, …), one media entity and one url
// entity that are hostile themselves (labelled badmedia and badurl), one
// https link labelled example.com/safe, and avatar as its avatar.
func linkTweet(n int64, avatar string) *tweet.Tweet {
	t := testTweet(n, "", "en")
	t.User.ProfileImageURL = avatar
	var text strings.Builder
	text.WriteString("linkcheck")
	ents := &tweet.Entities{Hashtags: []tweet.Hashtag{}, Symbols: []tweet.Symbol{}, UserMentions: []tweet.Mention{}}
	for i, u := range hostileURLs {
		short := fmt.Sprintf("http://t.co/bad%02d", i)
		fmt.Fprintf(&text, " %s", short)
		ents.URLs = append(ents.URLs, tweet.URL{URL: short, ExpandedURL: u, DisplayURL: fmt.Sprintf("bad%02d", i)})
	}
	text.WriteString(" javascript:alert(2) data:text/html,x https://t.co/good")
	ents.URLs = append(ents.URLs,
		tweet.URL{URL: "javascript:alert(2)", DisplayURL: "badurl"},
		tweet.URL{URL: "https://t.co/good", ExpandedURL: "https://example.com/safe", DisplayURL: "example.com/safe"})
	ents.Media = []tweet.Media{{URL: "data:text/html,x", ExpandedURL: "data:text/html,x", MediaURL: "data:image/png,x", DisplayURL: "badmedia", Type: "photo"}}
	t.Text, t.Entities = text.String(), ents
	return t
}

// TestBrowserPageLinks renders tweets with hostile link targets in the
// built-in page, one from the history (with a hostile avatar) and one
// live (with a relative one): no link or image of theirs has a scheme
// other than http(s), their labels show as text, and the https link and
// the relative avatar are used.
func TestBrowserPageLinks(t *testing.T) {
	chromium := findChromium(t)
	src := make(chanSource, 2)
	history, live := linkTweet(1, "javascript:alert(3)"), linkTweet(2, "/images/avatar-1.png")
	src <- history
	in := startInstance(t, config{source: "none", storeSize: 1000}, src)
	testsupport.Await(t, 10*time.Second, "the history tweet stored", func() bool { return in.app.store.Count() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tb := &tab{name: "links"}
	tb.ctx, tb.cancel = chromedp.NewContext(startBrowser(t, ctx, chromium))
	defer tb.cancel()
	tb.logStopped = tb.log.listen(tb.ctx)
	err := chromedp.Do(tb.ctx,
		chromedp.Navigate(in.url+"/#linkcheck"),
		chromedp.WaitVisible(chromedp.CSS(`#tweet-list li.tweet[data-id="`+history.IDStr+`"]`)),
	)
	if err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	src <- live // the search is registered once its history arrived
	if err := chromedp.Do(tb.ctx, chromedp.WaitVisible(chromedp.CSS(`#tweet-list li.tweet[data-id="`+live.IDStr+`"]`))); err != nil {
		t.Fatalf("the live tweet: %v", err)
	}

	type rendered struct {
		ID      string     `json:"id"`
		Text    string     `json:"text"`
		Links   [][]string `json:"links"` // href attribute, protocol as the browser reads it, text
		Sources [][]string `json:"sources"`
	}
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]rendered](`[...document.querySelectorAll("#tweet-list li.tweet")].map(li => ({
		id: li.dataset.id,
		text: li.querySelector(".text").textContent,
		links: [...li.querySelectorAll("a")].map(a => [a.getAttribute("href"), a.protocol, a.textContent]),
		sources: [...li.querySelectorAll("[src]")].map(e => [e.getAttribute("src"), new URL(e.src).protocol]),
	}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d tweets shown, want 2", len(got))
	}
	for _, r := range got {
		safe := 0
		for _, l := range append(r.Links, r.Sources...) {
			href, protocol := l[0], l[1]
			if protocol != "http:" && protocol != "https:" || !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "https://") {
				t.Errorf("tweet %s: link or source %q (%s)", r.ID, href, protocol)
			}
		}
		for _, l := range r.Links {
			if strings.HasPrefix(l[2], "bad") {
				t.Errorf("tweet %s: %s is a link to %q", r.ID, l[2], l[0])
			}
			if l[0] == "https://example.com/safe" && l[2] == "example.com/safe" {
				safe++
			}
		}
		if safe != 1 {
			t.Errorf("tweet %s: %d links to https://example.com/safe, want 1: %q", r.ID, safe, r.Links)
		}
		var wantSources [][]string
		if r.ID == live.IDStr {
			wantSources = [][]string{{in.url + "/images/avatar-1.png", "http:"}}
		}
		if !slices.EqualFunc(r.Sources, wantSources, slices.Equal) {
			t.Errorf("tweet %s: sources %q, want %q", r.ID, r.Sources, wantSources)
		}
		for i := range hostileURLs {
			if label := fmt.Sprintf("bad%02d", i); !strings.Contains(r.Text, label) {
				t.Errorf("tweet %s: label %s not shown in %q", r.ID, label, r.Text)
			}
		}
		for _, label := range []string{"badurl", "badmedia"} {
			if !strings.Contains(r.Text, label) {
				t.Errorf("tweet %s: label %s not shown in %q", r.ID, label, r.Text)
			}
		}
	}
	tb.cancel()
	<-tb.logStopped
	tb.log.check(t, tb.name)
}
