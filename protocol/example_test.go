package protocol_test

import (
	"fmt"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// A client frame tells its generation and format; the reply to its
// callback is written in its generation.
func ExampleParseClientFrame() {
	f, err := protocol.ParseClientFrame([]byte(`+j[["~:cmd/query",["^ ","~:q","clojure"]],"a1b2c3"]`))
	if err != nil {
		panic(err)
	}
	q, _ := f.Event.Data.(*transit.Map).Get(transit.Keyword("q"))
	fmt.Println(f.Event.ID, q, f.Callback.ID, f.Generation)

	reply, err := f.Generation.CallbackReply(true, f.Callback.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(reply))
	// Output:
	// :cmd/query clojure a1b2c3 flexi (1.3-1.8)
	// +j[true,"a1b2c3"]
}

// Pushes go out in batches, one frame in each client's generation.
func ExampleGeneration_Batch() {
	tweet := protocol.NewEvent("tweet/new", transit.NewMap(transit.Keyword("id"), 1))
	count := protocol.NewEvent("stats/users-count", 3)
	for _, g := range []protocol.Generation{protocol.GenFlexi, protocol.GenV2} {
		b, err := g.Batch(tweet, count)
		if err != nil {
			panic(err)
		}
		fmt.Println(string(b))
	}
	// Output:
	// -j[["~:tweet/new",["^ ","~:id",1]],["~:stats/users-count",3]]
	// [[["~:tweet/new",["^ ","~:id",1]],["~:stats/users-count",3]],null]
}
