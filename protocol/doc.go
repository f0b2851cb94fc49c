// Package protocol is the Sente wire layer: it turns the frames of Sente
// clients (taoensso/sente, every release from 1.3 to 1.22) into events and
// events into frames. It is pure: no I/O, no goroutines, no clock, no
// logging. The byte-level reference is docs/protocol.md, which the
// comments cite by section (docs/protocol.md §3.1).
//
// # Layers
//
// A frame is an envelope around a packed value. The Packer (TransitPacker,
// EDNPacker, FlexiPacker) turns one value into text and back; envelope v1
// prefixes it with '-' (the value is the message) or '+' (the value is [x]
// or [x cb-uuid]); envelope v2 has no prefix and the value is the wrapper
// vector itself. A message is an Event ([id] or [id data], id a namespaced
// keyword), a push batch (a vector of events), a handshake, or a reply.
//
// # Generations
//
// Generation names the four wire variants a server must speak, one file
// each (gen_flexi.go, gen_v1.go, gen_v2mixed.go, gen_v2.go):
//
//	GenFlexi    1.3–1.8    -j["~:chsk/handshake",["uid","tok"]]     +j[["~:cmd/query",…],"a1b2c3"]
//	GenV1       1.9–1.17   -["~:chsk/handshake",["uid","tok"]]      +[["~:cmd/query",…],"a1b2c3"]
//	GenV2Mixed  1.18–1.20  [["~:chsk/handshake",["uid",null]]]      [["~:cmd/query",…],"a1b2c3"]
//	GenV2       1.21+      [["~:chsk/handshake",["uid",null,null]],null]
//
// # Formats and dialects
//
// Each generation comes in two formats (Format): Transit JSON and EDN,
// Sente's default packer, whose frames are the same envelopes around EDN
// as Clojure prints it: -[:chsk/handshake ["uid" "tok"]] and
// [[:chsk/handshake ["uid" nil nil]] nil]; GenFlexi marks EDN with 'e'.
// A Dialect is a Generation and a Format; its methods write and read that
// variant's frames. The methods of Generation are those of its Transit
// dialect, so code that knows only generations speaks Transit.
// ParseClientFrame tells both from a frame (ClientFrame.Dialect).
//
// Methods of Generation write each server frame (Handshake, Batch,
// CallbackReply, Pong, AjaxReply, AjaxDummyReply, AjaxTimeoutReply,
// PollTimeout, ServerPing); PackBatch (Format.PackBatch for EDN) encodes
// one push batch once for several generations so that a broadcast reuses
// the bytes.
// ParseClientFrame reads a WebSocket message or an Ajax ppstr and tells the
// generation it reveals; DetectAjax and DetectWebSocket tell what the
// request's query parameters reveal (a GenerationSet, since they may not
// tell everything). ClientFrame and ParseServerFrame are the client's side,
// for tests and Go clients.
//
// A server that does not know a client's generation yet keeps the
// GenerationSet of candidates (docs/protocol.md §11.2): Cover and CoverIn
// tell the generations to write each frame in so that every candidate
// reads one, NeedsProbe and AfterProbe the v2 probe that finds 1.21+
// clients, Refine how a client frame pins the generation, and AjaxWriter
// the generation of an Ajax answer; Reads is the rule they follow.
//
// # Errors
//
// Bad input never panics. A frame that cannot be unpacked is a
// *BadPackageError (Sente's :chsk/bad-package); one that unpacks to a value
// that is not an event is a *BadEventError (Sente's :chsk/bad-event, docs/protocol.md §9).
// Their causes are the ErrXxx values of this package or errors of package
// transit or package edn, testable with errors.Is and errors.As. Recommended handling
// (docs/protocol.md §9): drop a bad WebSocket frame without closing the socket, answer a bad
// Ajax POST with HTTP 400.
//
// # Concurrency
//
// Everything in this package is safe for concurrent use: functions keep no
// state, and values (Event, PackedBatch, …) are immutable once built. Frames
// returned by writers belong to the caller, except those of a PackedBatch,
// which are shared. Parsers do not retain or modify their input; decoded
// values do not alias it.
package protocol
