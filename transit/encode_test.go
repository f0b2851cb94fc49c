package transit

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

type user struct {
	ID         int64  `transit:"id"`
	ScreenName string `transit:"screen_name"`
	Followers  int    `transit:"followers_count"`
}

type tweet struct {
	IDStr    string         `transit:"id_str"`
	Text     string         `transit:"text"`
	User     user           `transit:"user"`
	Hashtags []string       `transit:"hashtags"`
	Retweet  *tweet         `transit:"retweeted_status,omitempty"`
	Score    float64        `transit:"score,omitempty"`
	Lang     Keyword        `transit:"lang"`
	Extra    map[string]int `transit:"extra,omitempty"`
	Secret   string         `transit:"-"`
	Untagged bool           //
	//lint:ignore U1000 an unexported field, which the encoder must skip
	private   int
	Meta      map[Keyword]any   `transit:"meta,omitempty"`
	Sizes     [2]int            `transit:"sizes"`
	Generic   any               `transit:"generic"`
	Optional  *int              `transit:"optional"`
	Raw       []byte            `transit:"raw,omitempty"`
	WhenSeen  time.Time         `transit:"seen"`
	Tags      Set               `transit:"tags,omitempty"`
	ByID      map[int64]string  `transit:"by_id,omitempty"`
	Nested    map[string][]user `transit:"nested,omitempty"`
	embedInfo                   // promoted fields
}

type embedInfo struct {
	Source string `transit:"source"`
}

func TestStructRoundTrip(t *testing.T) {
	in := tweet{
		IDStr: "546814306545344512", Text: "hello #clojure",
		User:     user{ID: 7, ScreenName: "janedoe", Followers: 1532},
		Hashtags: []string{"clojure"},
		Retweet:  &tweet{IDStr: "1", Text: "orig", User: user{ID: 8, ScreenName: "techweekly"}, Lang: "en", Hashtags: []string{}},
		Lang:     "en", Extra: map[string]int{"b": 2, "a": 1}, Secret: "s", Untagged: true,
		Meta: map[Keyword]any{"k": "v"}, Sizes: [2]int{3, 4}, Generic: Keyword("x"),
		Raw: []byte{1}, WhenSeen: time.UnixMilli(946728000000).UTC(), Tags: Set{"a"},
		ByID: map[int64]string{10: "ten", 9: "nine"}, Nested: map[string][]user{"u": {{ID: 1}}},
		embedInfo: embedInfo{Source: "web"},
	}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `["^ ","~:id_str","546814306545344512","~:text","hello #clojure","~:user",["^ ","~:id",7,"~:screen_name","janedoe","~:followers_count",1532],` +
		`"~:hashtags",["clojure"],"~:retweeted_status",["^ ","^0","1","^1","orig","^2",["^ ","^3",8,"^4","techweekly","^5",0],"^6",[],"~:lang","~:en","~:Untagged",false,"~:sizes",[0,0],"~:generic",null,"~:optional",null,"~:seen","~m-62135596800000","~:source",""],` +
		`"^8","^9","~:extra",["^ ","a",1,"b",2],"^:",true,"~:meta",["^ ","~:k","v"],"^;",[3,4],"^<","~:x","^=",null,"~:raw","~bAQ==","^>","~m946728000000","~:tags",["~#set",["a"]],"~:by_id",["^ ","~i9","nine","~i10","ten"],"~:nested",["^ ","u",[["^ ","^3",1,"^4","","^5",0]]],"^?","web"]`
	if string(b) != want {
		t.Errorf("Marshal(struct):\n got %s\nwant %s", b, want)
	}
	var out tweet
	if err := UnmarshalInto(b, &out); err != nil {
		t.Fatal(err)
	}
	in.Secret = ""
	if !reflect.DeepEqual(out, in) {
		t.Errorf("UnmarshalInto:\n got %+v\nwant %+v", out, in)
	}
}

func TestAssignErrors(t *testing.T) {
	var u user
	err := UnmarshalInto([]byte(`["^ ","~:id","x"]`), &u)
	var te *UnmarshalTypeError
	if !errors.As(err, &te) || te.Path != "id" || te.Type.Kind() != reflect.Int64 {
		t.Fatalf("err = %v, want an UnmarshalTypeError at id", err)
	}
	var small struct {
		N int8 `transit:"n"`
	}
	if err := UnmarshalInto([]byte(`["^ ","~:n",300]`), &small); err == nil {
		t.Fatal("overflow into int8 accepted")
	}
	if err := UnmarshalInto([]byte(`1`), u); err == nil {
		t.Fatal("non-pointer target accepted")
	}
	var ie *InvalidUnmarshalError
	if err := Assign(nil, 1); !errors.As(err, &ie) {
		t.Fatalf("Assign(nil) = %v", err)
	}
	var xs []int
	if err := UnmarshalInto([]byte(`["~#list",[1,2]]`), &xs); err != nil || len(xs) != 2 {
		t.Fatalf("list into slice: %v %v", xs, err)
	}
	var f float32
	if err := UnmarshalInto([]byte(`["~#'",1e300]`), &f); err == nil {
		t.Fatal("1e300 into float32 accepted")
	}
}

type point struct{ X, Y int }

func (p point) MarshalTransit() (string, any, error) { return "point", []any{p.X, p.Y}, nil }

type celsius float64

func TestMarshalerAndHandlers(t *testing.T) {
	b, err := Marshal([]any{point{1, 2}, point{3, 4}})
	if err != nil || string(b) != `[["~#point",[1,2]],["^0",[3,4]]]` {
		t.Fatalf("Marshaler: %s %v", b, err)
	}
	opts := EncoderOptions{WriteHandlers: map[reflect.Type]WriteHandler{
		reflect.TypeFor[celsius](): func(v any) (string, any, error) {
			return "C", big.NewFloat(float64(v.(celsius))).Text('f', 1), nil
		},
	}}
	b, err = opts.Marshal(map[celsius]celsius{21.5: 20})
	if err != nil || string(b) != `["^ ","~C21.5","~C20.0"]` {
		t.Fatalf("WriteHandler: %s %v", b, err)
	}
	b, err = opts.Marshal(celsius(1))
	if err != nil || string(b) != `["~#'","~C1.0"]` {
		t.Fatalf("WriteHandler top level: %s %v", b, err)
	}
}

func TestMarshalGoValues(t *testing.T) {
	n := 5
	var nilMap map[string]int
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"b": 1, "a": []int{1}}, `["^ ","a",[1],"b",1]`},
		{map[[2]int]string{{2, 2}: "two", {1, 1}: "one"}, `["~#cmap",[[1,1],"one",[2,2],"two"]]`},
		{&n, `["~#'",5]`},
		{nilMap, `["~#'",null]`},
		{[]string(nil), `["~#'",null]`},
		{int8(-3), `["~#'",-3]`},
		{uint8(200), `["~#'",200]`},
		{float32(1.1), `["~#'",1.1]`},
		{math.MaxInt64, `["~#'","~i9223372036854775807"]`},
		{struct{}{}, `["^ "]`},
		{[]any{List{}, Set{}, NewMap()}, `[["~#list",[]],["~#set",[]],["^ "]]`},
		{big.NewInt(1), `["~#'","~n1"]`},
		{*big.NewInt(1), `["~#'","~n1"]`},
	} {
		got, err := Marshal(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", c.v, got, err, c.want)
		}
	}
	for _, v := range []any{make(chan int), func() {}, complex(1, 2), []any{make(chan int)}} {
		if _, err := Marshal(v); err == nil {
			t.Errorf("Marshal(%T) succeeded", v)
		}
	}
}

func TestMarshalCycle(t *testing.T) {
	type node struct {
		Next *node `transit:"next"`
	}
	n := &node{}
	n.Next = n
	if _, err := Marshal(n); err == nil || !strings.Contains(err.Error(), "cyclic") {
		t.Fatalf("cyclic value: %v", err)
	}
}

func TestEncoderStream(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, v := range []any{[]any{Keyword("abcd"), Keyword("abcd")}, []any{Keyword("abcd"), Keyword("abcd")}, "x"} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Encode(make(chan int)); err == nil {
		t.Fatal("Encode(chan) succeeded")
	}
	want := `["~:abcd","^0"] ["~:abcd","^0"] ["~#'","x"]`
	if buf.String() != want {
		t.Fatalf("stream = %s, want %s", buf.String(), want)
	}
	dst := []byte("-j")
	dst, err := AppendMarshal(dst, []any{Keyword("chsk/ws-ping")})
	if err != nil || string(dst) != `-j["~:chsk/ws-ping"]` {
		t.Fatalf("AppendMarshal = %s, %v", dst, err)
	}
	if out, err := AppendMarshal(dst, make(chan int)); err == nil || string(out) != string(dst) {
		t.Fatalf("AppendMarshal error case = %s, %v", out, err)
	}
}

func TestInvalidUTF8(t *testing.T) {
	b, err := Marshal([]any{"a\xffb", Keyword("k\xfe")})
	if err != nil || string(b) != `["a`+"\uFFFD"+`b","~:k`+"\uFFFD"+`"]` {
		t.Fatalf("invalid UTF-8 written as %s, %v", b, err)
	}
}

func TestKeywordNames(t *testing.T) {
	for _, c := range []struct{ k, ns, name string }{
		{"a/b", "a", "b"}, {"a", "", "a"}, {"/", "", "/"}, {"a/b/c", "a", "b/c"},
	} {
		if k := Keyword(c.k); k.Namespace() != c.ns || k.Name() != c.name {
			t.Errorf("Keyword(%q) = %q %q", c.k, k.Namespace(), k.Name())
		}
		if s := Symbol(c.k); s.Namespace() != c.ns || s.Name() != c.name {
			t.Errorf("Symbol(%q) = %q %q", c.k, s.Namespace(), s.Name())
		}
	}
	if Keyword("chsk/handshake").String() != ":chsk/handshake" {
		t.Error("Keyword.String")
	}
}

func TestMapOperations(t *testing.T) {
	m := NewMap()
	for i := 0; i < 20; i++ {
		m.Set(int64(i), i)
	}
	m.Set([]any{int64(1)}, "vec")
	m.Set(int64(3), "three")
	if v, _ := m.Get(int64(3)); v != "three" || m.Len() != 21 {
		t.Fatalf("Set replace: %v len %d", v, m.Len())
	}
	if v, ok := m.Get([]any{int64(1)}); !ok || v != "vec" {
		t.Fatal("composite key lookup failed")
	}
	m.Delete(int64(0))
	m.Delete(int64(99))
	if _, ok := m.Get(int64(0)); ok || m.Len() != 20 || m.Keys()[0] != int64(1) {
		t.Fatal("Delete")
	}
	if v, _ := m.Get(int64(19)); v != 19 {
		t.Fatal("index stale after Delete")
	}
	var nilMap *Map
	if nilMap.Len() != 0 || nilMap.Keys() != nil {
		t.Fatal("nil map")
	}
	if _, ok := nilMap.Get(1); ok {
		t.Fatal("nil map Get")
	}
	s := NewSet(int64(1), int64(1), 1.0, "1", []any{int64(1)}, []any{int64(1)})
	if len(s) != 4 || !s.Contains([]any{int64(1)}) || s.Contains(int64(2)) {
		t.Fatalf("NewSet = %#v", s)
	}
}

func TestBigDecimalText(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"1.50", "1.50"}, {"123.456", "123.456"}, {"-0.1", "-0.1"}, {"0.00000123", "0.00000123"},
		{"0.000000123", "1.23E-7"}, {"1E+3", "1E+3"}, {"1000", "1000"}, {"-1.1E-1", "-0.11"},
		{"0", "0"}, {"0.0", "0.0"}, {"12E-2", "0.12"}, {"1.2e10", "1.2E+10"}, {"+5", "5"},
	} {
		d, err := ParseBigDecimal(c.in)
		if err != nil || d.String() != c.out {
			t.Errorf("ParseBigDecimal(%q).String() = %q, %v; want %q", c.in, d.String(), err, c.out)
		}
	}
	for _, bad := range []string{"", "-", "1.2.3", "1e", "1e+", "abc", "1e99999999999", "."} {
		if _, err := ParseBigDecimal(bad); err == nil {
			t.Errorf("ParseBigDecimal(%q) succeeded", bad)
		}
	}
}

func TestAssignErrorPath(t *testing.T) {
	var v struct {
		Users []user `transit:"users"`
	}
	err := UnmarshalInto([]byte(`["^ ","~:users",[["^ ","~:id",1],["^ ","~:id","x"]]]`), &v)
	var te *UnmarshalTypeError
	if !errors.As(err, &te) || te.Path != "users[1].id" {
		t.Fatalf("err = %v, want a type error at users[1].id", err)
	}
}
