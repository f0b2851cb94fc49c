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

func TestApplyConf(t *testing.T) {
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
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	cfg := config{addr: ":8888"}
	if err := applyConf(&cfg, p, false, log); err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":9999" {
		t.Errorf("addr = %q, want :9999 from :port", cfg.addr)
	}
	if !strings.Contains(logs.String(), `"level":"warn","conf":"`+p+`","key":":colour"`) {
		t.Errorf("unknown key not warned about:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"key":"inspect-port","reason":"there is no inspection UI"`) {
		t.Errorf("unused key not logged:\n%s", logs.String())
	}
	if cfg.redisAddr != "127.0.0.1:6379" {
		t.Errorf("redisAddr = %q, want 127.0.0.1:6379 from :redis-host and :redis-port", cfg.redisAddr)
	}
	cfg = config{addr: "127.0.0.1:1", redisAddr: "10.0.0.1:7000"}
	if err := applyConf(&cfg, p, true, log); err != nil || cfg.addr != "127.0.0.1:1" || cfg.redisAddr != "10.0.0.1:7000" {
		t.Errorf("-addr or -redis-addr did not win over conf: %q %q %v", cfg.addr, cfg.redisAddr, err)
	}
	cfg = config{}
	if err := applyConf(&cfg, write(`{:redis-port 7001}`), false, log); err != nil || cfg.redisAddr != "127.0.0.1:7001" {
		t.Errorf(":redis-port alone: %q %v", cfg.redisAddr, err)
	}
	for _, bad := range []string{`{:port "x"}`, `[1 2]`, `{:port`, `{:redis-port 0}`, `{:redis-host 1}`} {
		if err := applyConf(&cfg, write(bad), false, log); err == nil {
			t.Errorf("conf %s accepted", bad)
		}
	}
	if err := applyConf(&cfg, filepath.Join(dir, "absent.edn"), false, log); err == nil {
		t.Error("missing conf file accepted")
	}
	c, err := parseConfig([]string{"-conf", p, "-addr", ":1"})
	if err != nil || c.confPath != p || !c.addrSet {
		t.Errorf("parseConfig = %+v, %v", c, err)
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
