// Package transit reads and writes Transit JSON and JSON-verbose, the
// encodings Sente's Transit packer uses for Clojure values.
package transit
