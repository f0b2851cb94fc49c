package web

import (
	"strconv"
	"testing"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// FuzzRedisEnvelope feeds arbitrary messages to the broker's envelope
// reader: it never panics, and what it accepts it writes back to the same
// publication.
func FuzzRedisEnvelope(f *testing.F) {
	good, err := encodeRedisEnvelope("i1", Publication{UID: "u", Event: tweetEvent(1)})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(good), `["sente-pub/3","i","",true,["~:a/b"]]`,
		`["sente-pub/2","x","u",false,["~:tweet/new"],false]`, `[]`, `"sente-pub/3"`, `["sente-pub/3","i","u",false,["~:a/b",["^ "]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		from, p, err := decodeRedisEnvelope(data)
		if err != nil {
			return
		}
		again, err := encodeRedisEnvelope(from, p)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it back: %v", data, err)
		}
		from2, p2, err := decodeRedisEnvelope(again)
		if err != nil || from2 != from || p2.UID != p.UID || p2.Broadcast != p.Broadcast ||
			!transit.Equal(p2.Event.Value(), p.Event.Value()) {
			t.Fatalf("%q: round trip gave %q %+v, %v", data, from2, p2, err)
		}
	})
}

// FuzzClientRecord feeds arbitrary client hashes (what another process
// may have left in Redis) to the record reader: it never panics, keeps
// only valid values, and reads back what the writer writes.
func FuzzClientRecord(f *testing.F) {
	f.Add("u1", "2", "0", "6", "1", true)
	f.Add("", "-1", "x", "999999999999999999999", "", false)
	f.Fuzz(func(t *testing.T, uid, g, fm, h, hs string, withUID bool) {
		fields := map[string]string{"g": g, "f": fm, "h": h, "hs": hs}
		if withUID {
			fields["uid"] = uid
		}
		rec, ok := parseClientRecord(fields)
		if ok != withUID {
			t.Fatalf("ok = %v with uid field %v", ok, withUID)
		}
		if !ok {
			return
		}
		if rec.Generation != protocol.GenUnknown && !rec.Generation.Valid() || rec.FormatKnown && !rec.Format.Valid() ||
			rec.Hint&^protocol.AllGenerations != 0 {
			t.Fatalf("invalid record %+v from %v", rec, fields)
		}
		back := map[string]string{}
		kv := clientRecordFields(rec)
		for i := 0; i+1 < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case string:
				back[kv[i].(string)] = v
			case int:
				back[kv[i].(string)] = strconv.Itoa(v)
			}
		}
		if again, ok := parseClientRecord(back); !ok || again != rec {
			t.Fatalf("round trip of %+v gave %+v", rec, again)
		}
	})
}
