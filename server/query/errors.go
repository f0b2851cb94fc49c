package query

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error this package returns: the query map
// or the query text could not be turned into a query. Check with
// errors.Is(err, query.ErrInvalid), or errors.As with *Error for details.
var ErrInvalid = errors.New("query: invalid query")

// Error describes why a query was rejected.
type Error struct {
	// Query is the query_string text, or "" when the query map itself is
	// at fault.
	Query string
	// Offset is the byte offset in Query where the problem was found, or
	// -1 when it is not tied to a place in the text.
	Offset int
	// Reason says what is wrong, in lower case.
	Reason string
}

// maxErrorQuery is how much of the query an error message quotes.
const maxErrorQuery = 200

// Error returns "query: <reason> at offset <n> in <query>".
func (e *Error) Error() string {
	q := e.Query
	if len(q) > maxErrorQuery {
		q = q[:maxErrorQuery] + "…"
	}
	switch {
	case e.Query == "" && e.Offset < 0:
		return "query: " + e.Reason
	case e.Offset < 0:
		return fmt.Sprintf("query: %s in %q", e.Reason, q)
	}
	return fmt.Sprintf("query: %s at offset %d in %q", e.Reason, e.Offset, q)
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }
