package transit_test

import (
	"fmt"
	"reflect"

	"github.com/sente-go/sente/transit"
)

// Values of the transit model, and plain Go values, are written as
// Transit JSON; a top-level scalar is wrapped in the quote tag.
func ExampleMarshal() {
	b, err := transit.Marshal([]any{transit.Keyword("chsk/handshake"), []any{"uid-1", "tok"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	b, _ = transit.Marshal(map[string]any{"q": "clojure", "n": 10})
	fmt.Println(string(b))

	b, _ = transit.Marshal(42)
	fmt.Println(string(b))

	b, _ = transit.MarshalVerbose(transit.NewMap(transit.Keyword("q"), "clojure"))
	fmt.Println(string(b))
	// Output:
	// ["~:chsk/handshake",["uid-1","tok"]]
	// ["^ ","n",10,"q","clojure"]
	// ["~#'",42]
	// {"~:q":"clojure"}
}

// A struct is written as a map with keyword keys, named by its fields'
// transit tags, and filled back from one by UnmarshalInto.
func ExampleUnmarshalInto() {
	type User struct {
		ScreenName string `transit:"screen_name"`
		Followers  int    `transit:"followers_count"`
	}
	b, err := transit.Marshal(User{"janedoe", 1532})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	var u User
	if err := transit.UnmarshalInto(b, &u); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", u)

	v, _ := transit.Unmarshal(b) // generic: a *transit.Map with transit.Keyword keys
	followers, _ := v.(*transit.Map).Get(transit.Keyword("followers_count"))
	fmt.Printf("%T %v\n", followers, followers)
	// Output:
	// ["^ ","~:screen_name","janedoe","~:followers_count",1532]
	// {ScreenName:janedoe Followers:1532}
	// int64 1532
}

// A tag of your own: a WriteHandler writes a Go type as a tagged value,
// and a ReadHandler reads the tag back into that type.
func ExampleWriteHandler() {
	type Point struct{ X, Y int64 }

	enc := transit.EncoderOptions{WriteHandlers: map[reflect.Type]transit.WriteHandler{
		reflect.TypeFor[Point](): func(v any) (string, any, error) {
			p := v.(Point)
			return "point", []any{p.X, p.Y}, nil
		},
	}}
	dec := transit.DecoderOptions{ReadHandlers: map[string]transit.ReadHandler{
		"point": func(rep any) (any, error) {
			xy, ok := rep.([]any)
			if !ok || len(xy) != 2 {
				return nil, fmt.Errorf("point: want [x y], got %v", rep)
			}
			x, okX := xy[0].(int64)
			y, okY := xy[1].(int64)
			if !okX || !okY {
				return nil, fmt.Errorf("point: want integers, got %v", rep)
			}
			return Point{x, y}, nil
		},
	}}

	b, err := enc.Marshal([]any{Point{1, 2}, Point{3, 4}})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	v, err := dec.Unmarshal(b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", v)
	// Output:
	// [["~#point",[1,2]],["^0",[3,4]]]
	// [{X:1 Y:2} {X:3 Y:4}]
}
