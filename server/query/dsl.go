package query

import (
	"fmt"
	"math"
	"strings"

	"github.com/sente-go/sente/transit"
)

// FromMap builds a query from an Elasticsearch query map, as the BirdWatch
// client sends it in :cmd/query and :cmd/percolate:
//
//	{:query_string {:default_field "text", :default_operator "AND", :query "(clojure) AND lang:en"}}
//
// m is a *transit.Map (keys keywords or strings) or a map[string]any (as
// decoded from JSON). Supported are query_string, with the parameters
// query (required), default_field, fields, default_operator ("AND" or
// "OR", any case), phrase_slop, allow_leading_wildcard,
// auto_generate_phrase_queries, fuzzy_prefix_length, lenient, analyzer
// ("standard" only) and the scoring-only boost, use_dis_max, tie_breaker,
// analyze_wildcard, rewrite and _name (accepted and ignored), and
// match_all. Anything else is an *Error (wrapping ErrInvalid), so that a
// query is never silently matched differently from what was asked.
func FromMap(m any) (*Query, error) {
	entries, err := mapEntries(m, "query")
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, dslErr("the query map must have exactly one key, the query type, found %d", len(entries))
	}
	kind, body := entries[0].key, entries[0].val
	switch kind {
	case "query_string":
		return queryString(body)
	case "match_all":
		params, err := mapEntries(body, "match_all")
		if err != nil {
			return nil, err
		}
		for _, e := range params {
			if e.key != "boost" && e.key != "_name" {
				return nil, dslErr("match_all does not support %q", e.key)
			}
		}
		return All(), nil
	}
	return nil, dslErr("unsupported query type %q (only query_string and match_all)", kind)
}

func dslErr(format string, args ...any) *Error {
	return &Error{Offset: -1, Reason: fmt.Sprintf(format, args...)}
}

type entry struct {
	key string
	val any
}

// mapEntries returns the entries of a query map with string keys.
func mapEntries(m any, what string) ([]entry, error) {
	var out []entry
	switch m := m.(type) {
	case *transit.Map:
		if m == nil {
			return nil, dslErr("%s must be a map, found nil", what)
		}
		for k, v := range m.All() {
			var name string
			switch k := k.(type) {
			case transit.Keyword:
				name = string(k)
			case string:
				name = k
			default:
				return nil, dslErr("%s has a key of type %T", what, k)
			}
			out = append(out, entry{name, v})
		}
	case map[string]any:
		for k, v := range m {
			out = append(out, entry{k, v})
		}
	default:
		return nil, dslErr("%s must be a map, found %T", what, m)
	}
	return out, nil
}

func queryString(body any) (*Query, error) {
	params, err := mapEntries(body, "query_string")
	if err != nil {
		return nil, err
	}
	var opts Options
	var text string
	hasText := false
	for _, e := range params {
		var err *Error
		switch e.key {
		case "query":
			text, err = stringParam(e)
			hasText = err == nil
		case "default_field":
			opts.DefaultField, err = stringParam(e)
		case "fields":
			opts.Fields, err = stringsParam(e)
		case "default_operator":
			var op string
			if op, err = stringParam(e); err == nil {
				switch strings.ToUpper(op) {
				case "AND":
					opts.DefaultOperator = And
				case "OR":
					opts.DefaultOperator = Or
				default:
					err = dslErr("default_operator must be AND or OR, found %q", op)
				}
			}
		case "phrase_slop":
			opts.PhraseSlop, err = intParam(e)
		case "fuzzy_prefix_length":
			opts.FuzzyPrefixLength, err = intParam(e)
		case "allow_leading_wildcard":
			var allow bool
			allow, err = boolParam(e)
			opts.NoLeadingWildcard = !allow
		case "auto_generate_phrase_queries":
			opts.AutoGeneratePhraseQueries, err = boolParam(e)
		case "lenient":
			opts.Lenient, err = boolParam(e)
		case "analyzer", "quote_analyzer":
			var a string
			if a, err = stringParam(e); err == nil && a != "standard" && a != "default" {
				err = dslErr("%s %q is not supported (only standard)", e.key, a)
			}
		case "boost", "use_dis_max", "tie_breaker", "analyze_wildcard", "rewrite", "_name":
		default:
			err = dslErr("query_string does not support %q", e.key)
		}
		if err != nil {
			return nil, err
		}
	}
	if !hasText {
		return nil, dslErr("query_string must have a query")
	}
	if opts.PhraseSlop < 0 || opts.FuzzyPrefixLength < 0 {
		return nil, dslErr("phrase_slop and fuzzy_prefix_length must not be negative")
	}
	return Parse(text, opts)
}

func stringParam(e entry) (string, *Error) {
	s, ok := e.val.(string)
	if !ok {
		return "", dslErr("%s must be a string, found %T", e.key, e.val)
	}
	return s, nil
}

func stringsParam(e entry) ([]string, *Error) {
	list, ok := e.val.([]any)
	if !ok {
		return nil, dslErr("%s must be a list of strings, found %T", e.key, e.val)
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, dslErr("%s must be a list of strings, found an element of type %T", e.key, x)
		}
		out = append(out, s)
	}
	return out, nil
}

func intParam(e entry) (int, *Error) {
	switch v := e.val.(type) {
	case int64:
		if v >= 0 && v <= math.MaxInt32 {
			return int(v), nil
		}
	case int:
		if v >= 0 && v <= math.MaxInt32 {
			return v, nil
		}
	case float64:
		if v >= 0 && v <= math.MaxInt32 && v == math.Trunc(v) {
			return int(v), nil
		}
	}
	return 0, dslErr("%s must be a non-negative integer, found %v", e.key, e.val)
}

func boolParam(e entry) (bool, *Error) {
	b, ok := e.val.(bool)
	if !ok {
		return false, dslErr("%s must be a boolean, found %T", e.key, e.val)
	}
	return b, nil
}
