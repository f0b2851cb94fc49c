// Package tweet is BirdWatch's tweet model: a Twitter v1.1 status as Go
// structs, read from Twitter's JSON, and the two shapes the BirdWatch client
// receives (docs/birdwatch.md §3.2, §5.2, §8, §12):
//
//   - the full tweet for :tweet/new (Tweet.Full), every field with keyword
//     keys, including fields this package does not model when the tweet was
//     read from JSON;
//   - the stripped tweet for :tweet/prev-chunk and :tweet/missing-tweet
//     (Tweet.Strip), exactly eight keys plus retweeted_status when the
//     tweet is a retweet, nulls for absent fields; and Missing, the all-null
//     skeleton sent for an unknown id.
//
// Both shapes are plain values for the transit package: Marshal writes them
// with keyword keys ("~:id_str").
//
// # Immutability and concurrency
//
// A *Tweet is immutable once it has been handed to another component (a
// store, a percolator, the hub): the tweet sources build it, and from then
// on every goroutine may read it without locking. Users (*User) are shared
// between tweets in the same way. Nothing in this package keeps state;
// every function is safe for concurrent use.
package tweet
