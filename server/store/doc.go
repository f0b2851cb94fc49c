// Package store keeps BirdWatch's tweet history and answers the
// client's history queries (:cmd/query) and missing-tweet lookups
// (:cmd/missing), in place of the original's Elasticsearch index
// (docs/birdwatch.md §5).
//
// Memory holds the newest tweets up to a capacity (the oldest, by id, is
// evicted, with its index entries) and an inverted index of their
// analysed fields (query.Tokens): for each indexed field and term, the ids
// of the tweets containing it, sorted. A query (package query) is planned
// against the index: terms are posting lists, conjunctions intersect them
// from the newest id down by galloping search (the rarest list leads),
// disjunctions merge, exclusions skip; wildcards, fuzzy terms, regular
// expressions and term ranges are the union of the terms they expand to
// (their lists walked together, not merged); anything the index cannot
// decide exactly (phrases, fields that are not indexed, numeric ranges)
// gives candidates that are checked with query.Node.Match. Because every
// list is walked from the newest id, the first 500 results of a search
// cost in proportion to the tweets visited to find them, not to the size
// of the store.
//
// # Cost budget
//
// Some queries cost far more than that: a wildcard with a leading '*' or a
// fuzzy term scans the whole dictionary of its field, and may match
// thousands of terms; a field that is not indexed makes every tweet a
// candidate. Every search therefore spends from a budget (Config's
// MaxExpansions, MaxClauses and MaxWork, counted in deterministic units
// while planning and while iterating, and a SearchTimeout as a backstop),
// and stops with ErrOverBudget as soon as it is exhausted: whatever the
// query, a search answers or is refused within tens of milliseconds and a
// few megabytes, and Add waits no longer than that for the read lock.
//
// Optionally the store is backed by an append-only JSONL file (Twitter
// JSON, one status per line) that is loaded on start, so that a restart
// keeps the history. An added tweet reaches the file within a second
// (flushInterval), even if no other follows: a killed process loses at
// most that last second. If the file cannot be written, the failure is
// logged once and the file is rewritten from memory when it can be.
//
// # Concurrency
//
// A *Memory is safe for concurrent use: searches run in parallel under a
// read lock; Add holds the write lock while it indexes one tweet. Stored
// tweets are immutable, so results are used without any lock.
package store
