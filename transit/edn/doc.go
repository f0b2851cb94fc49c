// Package edn reads and writes EDN, the text form of Clojure data and the
// body of Sente's default packer, over the value model of package transit:
// one model, two codecs. A keyword read from EDN is the same Go value as
// one read from Transit (transit.Keyword("a/b")); a value read from EDN
// can be written by both codecs, and one read from Transit by EDN too,
// except the few that EDN cannot express (URIs, bytes, links; see below).
//
// The writer prints as Clojure's pr-str does, so that a frame is byte for
// byte what a Clojure server sends for the same value where the order of
// maps and sets is kept. The reader follows clojure.tools.reader.edn, the
// reader of Sente's EDN packer (encore's read-edn).
//
// # Values
//
//	EDN                   Go                      written as
//	nil true false        nil, bool               nil true false
//	"s"                   string                  "s" (\" \\ \n \t \r \f \b escaped, the rest raw)
//	\a \newline \u00e9    transit.Char            \a \newline \é (controls and spaces as \uXXXX)
//	42 0x2A 052 2r101010  int64                   42
//	42N, beyond 64 bits   *big.Int                42N
//	1.5 1e3               float64                 1.5 1000.0 (Java's Double.toString, 19+)
//	##NaN ##Inf ##-Inf    float64                 ##NaN ##Inf ##-Inf
//	1.50M                 transit.BigDecimal      1.50M
//	1/3                   *big.Rat                1/3 (one reducing to an integer: an integer)
//	:a :ns/a              transit.Keyword         :a :ns/a
//	a ns/a                transit.Symbol          a ns/a
//	[1 2]                 []any                   [1 2]
//	(1 2)                 transit.List            (1 2)
//	#{1 2}                transit.Set             #{1 2}
//	{:a 1 :b 2}           *transit.Map            {:a 1, :b 2}
//	#:ns{:a 1}            *transit.Map            {:ns/a 1}
//	#inst "…"             time.Time (UTC, ms)     #inst "2000-01-01T12:00:00.000-00:00" (years 0000-9999)
//	#uuid "…"             transit.UUID            #uuid "5a2cbea3-e8c6-428b-b525-21239370dd55"
//	#tag form             transit.TaggedValue     #tag form
//
// Comments (; and #!), discarded forms (#_), commas and metadata (^{…},
// ^:kw, ^sym, ^"s", #^…, which the value model cannot hold and which is
// therefore checked and dropped) are read and skipped. Maps and sets keep
// the order of the text; a repeated key or element is an error, as in
// Clojure. Auto-resolved forms (::kw, #::{…}, #::alias{…}) need a current
// namespace and are errors.
//
// Marshal accepts the value model and, through package transit (its
// Marshal then its Unmarshal), any other Go value transit accepts:
// structs become maps with keyword keys, Go maps are written in transit's
// deterministic order, a transit.Marshaler its tagged value. Values that
// EDN cannot express so that they read back are errors
// (*UnsupportedValueError) rather than text no reader accepts: a
// transit.URI, []byte or transit.Link (Clojure prints #object[…]), a
// keyword, symbol or tag whose text would not read back, an instant
// outside the years 0000-9999, a surrogate Char.
//
// # Limits
//
// Decoding never panics on malformed input and returns a *SyntaxError
// with the byte offset and what is wrong. Nesting is capped
// (DecoderOptions.MaxDepth, counting collections, tags, metadata and
// discards), one value is capped at DecoderOptions.MaxValueBytes, and big
// integers, big decimals and ratio terms at 10,000 digits.
//
// # Differences from Clojure
//
// Instants before 1582-10-15 are proleptic Gregorian (Java uses the Julian
// calendar). A Char may be any Unicode scalar value (Java's char is one
// UTF-16 unit). Strings with a lone surrogate escape (\ud800) read it as
// U+FFFD, as Go strings hold UTF-8. The reader accepts no NaN or Infinity
// symbols (old tools.reader did), only ##NaN and friends.
//
// # Concurrency
//
// Marshal, Unmarshal and the option methods are safe for concurrent use.
// An Encoder or Decoder is not; use one per goroutine.
package edn
