// Package source provides BirdWatch's tweet sources: Synthetic, which
// generates realistic tweets at a configurable rate (the default, needing
// nothing external), Replay, which replays archived Twitter v1.1
// statuses from a JSONL file, Jetstream, which turns Bluesky's live
// posts into statuses, and Redis, which receives the statuses any
// producer publishes on a Redis channel. PublishingSource runs one of the
// others and publishes its tweets on such a channel, so that several
// server instances share one source.
//
// All have the method the hub uses to consume a source:
//
//	Run(ctx context.Context, emit func(*tweet.Tweet)) error
//
// Run is synchronous: it calls emit on the caller's goroutine, one tweet
// at a time in order (ids increase for Synthetic; Replay keeps the file's
// order), and starts no goroutines (PublishingSource runs its inner
// source on one, which ends before Run returns; Jetstream closes its
// connection from one, context.AfterFunc's, when ctx is done). It returns nil when ctx is done or a
// finite source is exhausted, and an error only for a real failure (a file
// that cannot be read). emit must not keep Run waiting long: a slow emit
// delays the tweets after it. A tweet passed to emit is complete and is
// never modified afterwards. Run may be called again after it returns; each
// call starts from the beginning (Jetstream's from the live end).
//
// Sources are configured by plain structs whose zero values work (see each
// Config); constructors validate them.
package source
