package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/internal/redisconn"
	"github.com/sente-go/sente/web"
)

// TestConfFile reads BirdWatch's conf.edn: :port gives -addr, :redis-host
// and :redis-port -redis-addr, unless a flag (or a variable) gives them;
// the other keys are logged, unknown ones with a warning; a value of the
// wrong type, a file that is not a map, or no file, is an error.
func TestConfFile(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		p := filepath.Join(dir, "conf.edn")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// BirdWatch MainApp's conf.edn, plus a key nobody knows.
	p := write(`{:es-address "http://127.0.0.1:9200" :es-index "birdwatch" :port 9999
 :pidfile-name "birdwatch.pid" :redis-host "127.0.0.1" :redis-port 6379 :inspect-port 8001
 :colour :blue}`)
	l, err := loadConfig([]string{"-conf", p}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.addr != ":9999" {
		t.Errorf("addr = %q, want :9999 from :port", l.cfg.addr)
	}
	if l.cfg.redisAddr != "127.0.0.1:6379" {
		t.Errorf("redisAddr = %q, want 127.0.0.1:6379 from :redis-host and :redis-port", l.cfg.redisAddr)
	}
	var logs bytes.Buffer
	l.logNotes(zerolog.New(&logs))
	if !strings.Contains(logs.String(), `"level":"warn","conf":"`+p+`","key":":colour"`) {
		t.Errorf("unknown key not warned about:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"key":":inspect-port","reason":"not used: there is no inspection UI"`) {
		t.Errorf("unused key not logged:\n%s", logs.String())
	}
	l, err = loadConfig([]string{"-conf", p, "-addr", "127.0.0.1:1", "-redis-addr", "10.0.0.1:7000"}, noEnv)
	if err != nil || l.cfg.addr != "127.0.0.1:1" || l.cfg.redisAddr != "10.0.0.1:7000" {
		t.Errorf("-addr or -redis-addr did not win over conf: %+v %v", l, err)
	}
	// -redis-url, of higher precedence, wins over conf's Redis too.
	l, err = loadConfig([]string{"-redis-url", "redis://10.0.0.2:7000"}, envOf(map[string]string{"SENTE_CONF": p}))
	if err != nil || l.cfg.redisAddr != "" || l.cfg.redisURL != "redis://10.0.0.2:7000" || l.cfg.redisTarget() != "redis://10.0.0.2:7000" {
		t.Errorf("-redis-url did not win over conf's Redis: %+v %v", l, err)
	}
	if l, err := loadConfig([]string{"-conf", write(`{:redis-port 7001}`)}, noEnv); err != nil || l.cfg.redisAddr != "127.0.0.1:7001" {
		t.Errorf(":redis-port alone: %+v %v", l, err)
	}
	for _, bad := range []string{`{:port "x"}`, `[1 2]`, `{:port`, `{:redis-port 0}`, `{:redis-host 1}`, `{:port 70000}`} {
		if _, err := loadConfig([]string{"-conf", write(bad)}, noEnv); err == nil {
			t.Errorf("conf %s accepted", bad)
		}
	}
	if _, err := loadConfig([]string{"-conf", filepath.Join(dir, "absent.edn")}, noEnv); err == nil {
		t.Error("missing conf file accepted")
	}
	for name, want := range map[string]web.Packer{"": web.PackerAuto, "auto": web.PackerAuto, "transit": web.PackerTransit, "edn": web.PackerEDN} {
		if p, err := parsePacker(name); err != nil || p != want {
			t.Errorf("parsePacker(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := parsePacker("msgpack"); err == nil {
		t.Error("parsePacker accepted msgpack")
	}
}

func TestNewSourceFlags(t *testing.T) {
	log := zerolog.Nop()
	for _, c := range []struct {
		cfg  config
		want string // error substring, "" for success
	}{
		{config{source: "redis"}, "-redis-addr"},
		{config{source: "synthetic", rate: 5, redisPublish: true}, "-redis-publish needs -redis-url or -redis-addr"},
		{config{source: "none", redisPublish: true, redisAddr: "127.0.0.1:1"}, "needs a local source"},
		{config{source: "redis", redisPublish: true, redisAddr: "127.0.0.1:1"}, "needs a local source"},
		{config{source: "synthetic", rate: 5, redisPublish: true, redisAddr: "127.0.0.1:1", redisTweets: "t"}, ""},
		{config{source: "redis", redisAddr: "127.0.0.1:1", redisTweets: "t"}, ""},
		{config{source: "none"}, ""},
		{config{source: "jetstream"}, ""},
		{config{source: "jetstream", jetstream: "https://jetstream.example/subscribe"}, "ws://"},
		{config{source: "jetstream", redisPublish: true, redisAddr: "127.0.0.1:1", redisTweets: "t"}, ""},
	} {
		var rdb redis.UniversalClient
		if target := c.cfg.redisTarget(); target != "" {
			var err error
			if rdb, err = redisconn.Open(target); err != nil {
				t.Fatal(err)
			}
		}
		_, err := newSource(c.cfg, log, rdb, func() {})
		if rdb != nil {
			rdb.Close()
		}
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("newSource(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}
