// Package transit reads and writes Transit JSON and JSON-verbose, the
// encodings that Sente's Transit packer uses for Clojure values.
//
// The writer reproduces transit-java (and so transit-clj) byte for byte:
// the write cache, Java's float and BigDecimal text, Jackson's string
// escaping. The reader accepts everything transit-java and transit-js
// write, in either encoding, without being told which.
//
// # Values
//
// Unmarshal returns a tree of these Go types; Marshal accepts them and,
// in addition, any Go value built from basic kinds, slices, arrays, Go
// maps, structs and pointers:
//
//	Transit         Go
//	null            nil
//	boolean         bool
//	integer         int64 (written: any int or uint kind; beyond 2^53 as "~i")
//	float           float64 (float32 written with its own shortest digits)
//	big integer     *big.Int (always "~n", even when small)
//	big decimal     BigDecimal (unscaled value and scale, as Java keeps them)
//	ratio           *big.Rat
//	keyword         Keyword ("ns/name")
//	symbol          Symbol
//	string          string
//	char            Char
//	URI             URI
//	UUID            UUID
//	instant         time.Time (milliseconds, UTC)
//	bytes           []byte
//	array           []any (written: any slice or array)
//	list            List
//	set             Set (insertion-ordered)
//	map, cmap       *Map (insertion-ordered, keys of any type; written: also
//	                Go maps, in a deterministic order, and structs)
//	link            Link
//	other tags      TaggedValue, written back in the form it was read
//
// Structs are written as maps with keyword keys: a field's key is the
// name in its `transit:"name"` tag or its Go name; `transit:"-"` skips a
// field and `transit:",omitempty"` skips its zero value. UnmarshalInto and
// Assign fill structs back from such maps. Marshaler, Unmarshaler,
// EncoderOptions.WriteHandlers and DecoderOptions.ReadHandlers extend the
// codec with tags of your own.
//
// Top-level scalars are wrapped in the quote tag (["~#'", x]), as every
// Transit writer does. A Map or Set is written in its own order; Go maps
// are written with string keys in byte order, integer keys in numeric
// order and other keys by their encoded text, so output is deterministic.
// Invalid UTF-8 in strings is written as U+FFFD.
//
// # Limits
//
// Decoding never panics on malformed input and returns a *SyntaxError
// with the byte offset. Nesting is capped (DecoderOptions.MaxDepth), a
// Decoder buffers at most DecoderOptions.MaxValueBytes for one value, and
// big numbers are capped at 10,000 digits.
//
// # Concurrency
//
// Marshal, Unmarshal and the option methods are safe for concurrent use.
// An Encoder or Decoder is not; use one per goroutine.
package transit
