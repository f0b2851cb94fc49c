package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/transit/edn"
)

// confKeys are the keys of BirdWatch's conf.edn (docs/birdwatch.md §10):
// the ones this server uses, and the ones it knows but has no use for.
var confKeys = map[transit.Keyword]string{
	"port":         "used",
	"es-address":   "the tweet store is embedded",
	"es-index":     "the tweet store is embedded",
	"pidfile-name": "no pid file is written",
	"inspect-port": "there is no inspection UI",
	"redis-host":   "used",
	"redis-port":   "used",
}

// confNote is a conf.edn key the server does not use.
type confNote struct {
	path, key string
	why       string // why it is not used
	unknown   bool   // not a key of BirdWatch's conf.edn
}

// readConf reads the BirdWatch conf.edn at path and returns the values it
// gives settings, by setting name, as the settings would be written: its
// :port gives -addr (":PORT"), its :redis-host and :redis-port (127.0.0.1
// and 6379 when only one is given) -redis-addr. The values are checked
// with the other origins' (loadConfig); only their types are checked
// here (a confKeyError). The keys it does not use come back as notes.
func readConf(path string) (map[string]value, []confNote, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	v, err := edn.Unmarshal(data)
	if err != nil {
		return nil, nil, err
	}
	m, ok := v.(*transit.Map)
	if !ok {
		return nil, nil, fmt.Errorf("not a map: %s", ednText(v))
	}
	got := map[string]value{}
	var notes []confNote
	var redisHost, redisPort string
	var redisKeys []string // the Redis keys given, as written
	for k, val := range m.All() {
		kw, _ := k.(transit.Keyword)
		why, known := confKeys[kw]
		written := fmt.Sprintf("%s %s", ednText(k), ednText(val))
		switch {
		case !known:
			notes = append(notes, confNote{path: path, key: ednText(k), why: "unknown: ignored", unknown: true})
		case kw == "port":
			p, ok := val.(int64)
			if !ok {
				return nil, nil, confKeyError{fmt.Errorf("-addr (conf %s %s): want a port number", path, written)}
			}
			got["addr"] = value{text: ":" + strconv.FormatInt(p, 10), from: fromConf, where: path + " " + written}
		case kw == "redis-host":
			h, ok := val.(string)
			if !ok || h == "" {
				return nil, nil, confKeyError{fmt.Errorf("-redis-addr (conf %s %s): want a host name", path, written)}
			}
			redisHost, redisKeys = h, append(redisKeys, written)
		case kw == "redis-port":
			p, ok := val.(int64)
			if !ok {
				return nil, nil, confKeyError{fmt.Errorf("-redis-addr (conf %s %s): want a port number", path, written)}
			}
			redisPort, redisKeys = strconv.FormatInt(p, 10), append(redisKeys, written)
		default:
			notes = append(notes, confNote{path: path, key: ednText(k), why: "not used: " + why})
		}
	}
	if len(redisKeys) > 0 {
		slices.Sort(redisKeys) // map order is not the file's
		if redisHost == "" {
			redisHost = "127.0.0.1"
		}
		if redisPort == "" {
			redisPort = "6379"
		}
		got["redis-addr"] = value{text: net.JoinHostPort(redisHost, redisPort), from: fromConf,
			where: path + " " + strings.Join(redisKeys, " ")}
	}
	slices.SortFunc(notes, func(a, b confNote) int { return strings.Compare(a.key, b.key) })
	return got, notes, nil
}

// confKeyError is a conf.edn value of the wrong type; its text names the
// setting, the file, the key and the value.
type confKeyError struct{ error }

func (e confKeyError) Unwrap() error { return e.error }

// ednText writes a conf.edn value for a message: strings quoted,
// keywords with their colon.
func ednText(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "nil"
	default:
		return fmt.Sprint(v)
	}
}
