package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/server/query"
)

// TestJetstreamSourceSearchable runs the app with -source jetstream
// against a local Jetstream sending one identity event and one post: the
// post is stored, found by a search for its hashtag, under the handle.
func TestJetstreamSourceSearchable(t *testing.T) {
	const did = "did:plc:jetstreamtestauthor00000"
	events := []string{
		`{"did":"` + did + `","time_us":1764979200000001,"kind":"identity","identity":{"did":"` + did + `","handle":"birdwatcher.test"}}`,
		`not json`,
		`{"did":"` + did + `","time_us":1764979200000002,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3lk",` +
			`"record":{"text":"Ça gèle à Zürich #winter","langs":["fr"],"createdAt":"2025-12-06T00:00:00Z",` +
			`"facets":[{"index":{"byteStart":21,"byteEnd":28},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"winter"}]}]}}}`,
	}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for _, e := range events {
			if c.WriteMessage(websocket.TextMessage, []byte(e)) != nil {
				return
			}
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/subscribe?wantedCollections=app.bsky.feed.post"
	in := startInstance(t, config{source: "jetstream", jetstream: url, storeSize: 100}, nil)
	testsupport.Await(t, 10*time.Second, "the post stored", func() bool { return in.app.store.Count() == 1 })
	q, err := query.Parse("winter", query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := in.app.store.SearchTweets(q, 0, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("search for the hashtag: %d tweets, %v", len(got), err)
	}
	tw := got[0]
	if tw.User.ScreenName != "birdwatcher.test" || tw.Lang != "fr" || len(tw.Entities.Hashtags) != 1 || tw.Entities.Hashtags[0].Indices != [2]int{17, 24} {
		t.Errorf("stored post: user %q lang %q hashtags %+v", tw.User.ScreenName, tw.Lang, tw.Entities.Hashtags)
	}
}
