package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// envOf is the environment m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// keyCase is how a test gives one setting good and bad values.
type keyCase struct {
	name string
	bad  []string // refused values, each via the flag and the variable (an empty variable is unset)
	// badConf are conf.edn maps with a refused value of the key.
	badConf []string
	// env and flag are good values, different from the default and from
	// each other, written as get writes them.
	env, flag string
	// conf is a conf.edn map giving the key, "" for a key it does not
	// give; confGot is what it gives, written as get writes it.
	conf, confGot string
	get           func(config) string // the field the setting sets, as text
	extra         []string            // flags the good values need (other settings)
}

// keyCases returns a case for every setting; files and directories live
// in dir.
func keyCases(t *testing.T, dir string) []keyCase {
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	subdir := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	absent := filepath.Join(dir, "absent")
	str := func(f func(config) string) func(config) string { return f }
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	return []keyCase{
		{name: "addr", bad: []string{"8888", ":99999", ":http", "host"}, badConf: []string{`{:port 70000}`, `{:port "x"}`, `{:port -1}`},
			env: ":9001", flag: "127.0.0.1:9002", conf: `{:port 9003}`, confGot: ":9003",
			get: str(func(c config) string { return c.addr })},
		{name: "log-level", bad: []string{"loud", "INFO", "disabled"}, env: "debug", flag: "warn",
			get: str(func(c config) string { return c.logLevel })},
		{name: "static-dir", bad: []string{absent, file("not-a-dir")}, env: subdir("env-dir"), flag: subdir("flag-dir"),
			get: str(func(c config) string { return c.staticDir })},
		{name: "source", bad: []string{absent, dir, "Jetstream"}, env: "jetstream", flag: file("tweets.jsonl"),
			get: str(func(c config) string { return c.source })},
		{name: "rate", bad: []string{"lots", "0", "-1", "NaN", "Inf", "2e6"}, env: "0.5", flag: "100",
			get: func(c config) string { return num(c.rate) }},
		{name: "seed", bad: []string{"-1", "x", "1.5", "18446744073709551616"}, env: "0", flag: "18446744073709551615",
			get: func(c config) string { return strconv.FormatUint(c.seed, 10) }},
		{name: "backfill", bad: []string{"-5", "1.5", "1e3", "99999999"}, env: "0", flag: "10",
			get: func(c config) string { return strconv.Itoa(c.backfill) }},
		{name: "speed", bad: []string{"-1", "fast", "Inf"}, env: "0", flag: "2.5",
			get: func(c config) string { return num(c.speed) }},
		{name: "jetstream-url", bad: []string{"https://jetstream.example/subscribe", "wss://", "jetstream.example"}, env: "ws://127.0.0.1:6008/subscribe",
			flag: "wss://jetstream1.us-west.bsky.network/subscribe?wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.actor.profile",
			get:  str(func(c config) string { return c.jetstream })},
		{name: "store-file", env: filepath.Join(dir, "env.jsonl"), flag: filepath.Join(dir, "flag.jsonl"),
			get: str(func(c config) string { return c.storeFile })},
		{name: "store-size", bad: []string{"lots", "0", "-3", "1e5", "100000000000"}, env: "200", flag: "300",
			get: func(c config) string { return strconv.Itoa(c.storeSize) }},
		{name: "packer", bad: []string{"msgpack", "Auto"}, env: "edn", flag: "transit",
			get: str(func(c config) string { return c.packer })},
		{name: "clients", bad: []string{"v9", "flexi,,v2", "none"}, env: "all", flag: "v1",
			get: str(func(c config) string { return c.clients })},
		{name: "conf", bad: []string{absent, file("bad.edn") + "x"}, env: file("env.edn"), flag: file("flag.edn"),
			get: str(func(c config) string { return c.confPath })},
		{name: "allowed-origins", bad: []string{"https://a.example/path", "example.com", "https://a.example,ftp//"}, env: "*", flag: "https://a.example, http://b.example:8080",
			get: str(func(c config) string { return c.origins })},
		{name: "redis-url", bad: []string{"ftp://h:1", "redis://h:1?bogus_option=1", "rediss://h:1?ca_file=" + absent}, env: "redis://10.0.0.1:6379", flag: "redis+cluster://:pw@10.0.0.2:7000",
			get: str(func(c config) string { return c.redisURL })},
		{name: "redis-addr", bad: []string{"localhost", "h:0", "h:65536", "h:port"}, badConf: []string{`{:redis-port 0}`, `{:redis-host 1}`, `{:redis-port "6379"}`},
			env: "10.0.0.1:6379", flag: "10.0.0.2:7000", conf: `{:redis-host "10.0.0.3" :redis-port 7001}`, confGot: "10.0.0.3:7001",
			get: str(func(c config) string { return c.redisAddr })},
		{name: "csrf-token", bad: []string{"a b", "tab\there", "é"}, env: "env-token", flag: "flag-token",
			get: str(func(c config) string { return c.csrfToken })},
		{name: "redis-tweets", env: "env:tweets", flag: "flag:tweets",
			get: str(func(c config) string { return c.redisTweets })},
		{name: "max-header-bytes", bad: []string{"0", "64k", "-1"}, env: "1024", flag: "2048",
			get: func(c config) string { return strconv.Itoa(c.maxHeader) }},
		{name: "redis-publish", bad: []string{"yes", "on", "2"}, env: "true", flag: "false",
			get: func(c config) string { return strconv.FormatBool(c.redisPublish) }, extra: []string{"-redis-addr", "127.0.0.1:1"}},
		{name: "max-conns", bad: []string{"-2", "many", "1.0"}, env: "-1", flag: "100",
			get: func(c config) string { return strconv.Itoa(c.maxConns) }},
		{name: "debug-addr", bad: []string{"6060", "localhost", "127.0.0.1:70000"}, env: "127.0.0.1:6060", flag: ":6061",
			get: str(func(c config) string { return c.debugAddr })},
		{name: "metrics-addr", bad: []string{"9090", "localhost", "127.0.0.1:70000"}, env: "127.0.0.1:9090", flag: ":9091",
			get: str(func(c config) string { return c.metricsAddr })},
		{name: "shutdown-timeout", bad: []string{"10", "0s", "-1s", "soon"}, env: "30s", flag: "1m0s",
			get: func(c config) string { return c.limits.shutdown.String() }},
		{name: "shutdown-delay", bad: []string{"5", "-1s", "soon"}, env: "5s", flag: "100ms",
			get: func(c config) string { return c.limits.delay.String() }},
	}
}

// TestConfigCoversEverySetting keeps keyCases in step with settings.
func TestConfigCoversEverySetting(t *testing.T) {
	cases := map[string]bool{}
	for _, c := range keyCases(t, t.TempDir()) {
		cases[c.name] = true
	}
	for _, s := range settings {
		if !cases[s.name] {
			t.Errorf("no test case for -%s", s.name)
		}
		delete(cases, s.name)
	}
	for name := range cases {
		t.Errorf("test case for -%s, which is no setting", name)
	}
}

// TestConfigBadValues gives each setting bad values through its flag,
// its variable and conf.edn: each is an error that names the key, the
// value and its origin, also when an origin of higher precedence gives
// a good value.
func TestConfigBadValues(t *testing.T) {
	dir := t.TempDir()
	for _, kc := range keyCases(t, dir) {
		s := settings[settingIndex(kc.name)]
		for _, bad := range kc.bad {
			shown := s.show(bad)
			wantFlag := []string{"-" + kc.name + " ", shown, "(flag)"}
			wantEnv := []string{"-" + kc.name + " ", shown, "(env " + s.env + ")"}
			check := func(how string, args []string, env map[string]string, want []string) {
				t.Helper()
				_, err := loadConfig(args, envOf(env))
				if err == nil {
					t.Errorf("-%s %q %s: accepted", kc.name, bad, how)
					return
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("-%s %q %s: error %q does not say %q", kc.name, bad, how, err, w)
					}
				}
				if s.secret != nil && strings.Contains(err.Error(), ":pw@") {
					t.Errorf("-%s %s: error %q shows a secret", kc.name, how, err)
				}
			}
			check("by flag", []string{"-" + kc.name + "=" + bad}, nil, wantFlag)
			check("by env", nil, map[string]string{s.env: bad}, wantEnv)
			// A good flag does not hide a bad variable.
			check("by env under a good flag", []string{"-" + kc.name + "=" + kc.flag}, map[string]string{s.env: bad}, wantEnv)
		}
		for _, conf := range kc.badConf {
			p := filepath.Join(dir, "bad-conf.edn")
			if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			key := strings.Fields(strings.Trim(conf, "{}"))
			_, err := loadConfig([]string{"-conf", p}, noEnv)
			if err == nil {
				t.Errorf("-%s: conf %s accepted", kc.name, conf)
				continue
			}
			for _, w := range []string{"-" + kc.name + " ", "conf " + p, key[0] + " " + key[1]} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("-%s: conf %s: error %q does not say %q", kc.name, conf, err, w)
				}
			}
		}
	}
	// A bad value found where a setting is stored says so too.
	if _, err := loadConfig([]string{"-store-size", "lots"}, noEnv); err == nil || err.Error() != `-store-size "lots" (flag): want an integer from 1 to 100000000` {
		t.Errorf("-store-size lots: %v", err)
	}
	if _, err := loadConfig(nil, envOf(map[string]string{"SENTE_REDIS_PUBLISH": "yes"})); err == nil ||
		err.Error() != `-redis-publish "yes" (env SENTE_REDIS_PUBLISH): want true or false (or 1, 0, t, f)` {
		t.Errorf("SENTE_REDIS_PUBLISH=yes: %v", err)
	}
	// A secret is not shown in an error.
	if _, err := loadConfig([]string{"-redis-url", "redis://u:s3cret@h:1?bogus=1"}, noEnv); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad -redis-url with a password: %v", err)
	}
}

// TestConfigPrecedence checks each setting's origins: its default, then
// conf.edn over the default, the variable over both, the flag over all.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	for _, kc := range keyCases(t, dir) {
		i := settingIndex(kc.name)
		s := settings[i]
		expect := func(step string, args []string, env map[string]string, want string, from origin) {
			t.Helper()
			l, err := loadConfig(append(args, kc.extra...), envOf(env))
			if err != nil {
				t.Errorf("-%s, %s: %v", kc.name, step, err)
				return
			}
			if got := kc.get(l.cfg); got != want || l.values[i].from != from {
				t.Errorf("-%s, %s: %q from %v, want %q from %v", kc.name, step, got, l.values[i].from, want, from)
			}
		}
		def := s.def
		expect("default", nil, nil, def, fromDefault)
		var args []string
		if kc.conf != "" {
			p := filepath.Join(dir, kc.name+".edn")
			if err := os.WriteFile(p, []byte(kc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			args = []string{"-conf", p}
			expect("conf", args, nil, kc.confGot, fromConf)
		}
		env := map[string]string{s.env: kc.env}
		expect("env", args, env, kc.env, fromEnv)
		expect("an empty env is unset", args, map[string]string{s.env: ""}, cond(kc.conf != "", kc.confGot, def), cond(kc.conf != "", fromConf, fromDefault))
		if kc.name == "conf" {
			args = nil // the flag below names the conf file
		}
		expect("flag", append(args, "-"+kc.name+"="+kc.flag), env, kc.flag, fromFlag)
	}
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// TestConfigRedisTarget checks that -redis-url and -redis-addr name one
// Redis: the one of higher precedence wins; both from one origin is an
// error.
func TestConfigRedisTarget(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		env       map[string]string
		want, err string
	}{
		{[]string{"-redis-url", "redis://h:1", "-redis-addr", "h:2"}, nil, "", "both given"},
		{nil, map[string]string{"SENTE_REDIS_URL": "redis://h:1", "SENTE_REDIS_ADDR": "h:2"}, "", "both given"},
		{[]string{"-redis-url", "redis://h:1"}, map[string]string{"SENTE_REDIS_ADDR": "h:2"}, "redis://h:1", ""},
		{[]string{"-redis-addr", "h:2"}, map[string]string{"SENTE_REDIS_URL": "redis://h:1"}, "h:2", ""},
	} {
		l, err := loadConfig(tc.args, envOf(tc.env))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q %v: error %v, want %q", tc.args, tc.env, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q %v: %v", tc.args, tc.env, err)
		case tc.err == "" && l.cfg.redisTarget() != tc.want:
			t.Errorf("%q %v: Redis %q, want %q", tc.args, tc.env, l.cfg.redisTarget(), tc.want)
		}
	}
	// Settings that need one another.
	for _, args := range [][]string{{"-source", "redis"}, {"-redis-publish"}, {"-redis-publish", "-source", "none", "-redis-addr", "h:1"}} {
		if _, err := loadConfig(args, noEnv); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestCheckConfig runs the binary's -check-config: every key, its value
// and its origin, secrets redacted, exit status 0; a bad value is an
// error.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf.edn")
	if err := os.WriteFile(conf, []byte(`{:port 9999 :inspect-port 8001}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENTE_STORE_SIZE", "10")
	t.Setenv("SENTE_CONF", conf)
	t.Setenv("SENTE_CSRF_TOKEN", "s3cret-token")
	var out, logs bytes.Buffer
	err := run([]string{"-check-config", "-redis-url", "redis://user:pa55@10.0.0.1:6379/0?master_name=m&password=pw2&addr=10.0.0.2:26379",
		"-shutdown-delay", "5s"}, &out, &logs)
	if err != nil {
		t.Fatalf("-check-config: %v\n%s", err, out.String())
	}
	t.Logf("-check-config:\n%s", out.String())
	text := out.String()
	for _, secret := range []string{"s3cret", "pa55", "pw2"} {
		if strings.Contains(text, secret) {
			t.Errorf("-check-config shows the secret %q", secret)
		}
	}
	for _, re := range []string{
		`(?m)^KEY\s+VALUE\s+FROM$`,
		`(?m)^-addr\s+":9999"\s+conf ` + regexp.QuoteMeta(conf) + ` :port 9999$`,
		`(?m)^-store-size\s+"10"\s+env SENTE_STORE_SIZE$`,
		`(?m)^-log-level\s+"info"\s+default$`,
		`(?m)^-shutdown-delay\s+"5s"\s+flag$`,
		`(?m)^-conf\s+"` + regexp.QuoteMeta(conf) + `"\s+env SENTE_CONF$`,
		`(?m)^-csrf-token\s+"\[redacted\]"\s+env SENTE_CSRF_TOKEN$`,
		`(?m)^-redis-url\s+"redis://user:xxxxx@10\.0\.0\.1:6379/0\?addr=10\.0\.0\.2%3A26379&master_name=m&password=xxxxx"\s+flag$`,
		`(?m)^-redis-addr\s+""\s+default$`,
		`(?m)^conf ` + regexp.QuoteMeta(conf) + `: :inspect-port not used: there is no inspection UI$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("-check-config output lacks %s", re)
		}
	}
	lines := 0
	for sc := bufio.NewScanner(strings.NewReader(text)); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "-") {
			lines++
		}
	}
	if lines != len(settings) {
		t.Errorf("-check-config shows %d settings, want %d", lines, len(settings))
	}
	if logs.Len() != 0 {
		t.Errorf("-check-config logged:\n%s", logs.String())
	}

	t.Setenv("SENTE_STORE_SIZE", "lots")
	out.Reset()
	err = run([]string{"-check-config"}, &out, &logs)
	if err == nil || !strings.Contains(err.Error(), `-store-size "lots" (env SENTE_STORE_SIZE)`) || out.Len() != 0 {
		t.Errorf("-check-config with SENTE_STORE_SIZE=lots: %v, printed %q", err, out.String())
	}
}

// TestREADMESettings checks the README's table of settings against
// settings: one row per setting, in order, with its flag, variable,
// conf.edn keys and default.
func TestREADMESettings(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| `-") {
			cells := strings.Split(line, " | ")
			for i := range cells {
				cells[i] = strings.Trim(cells[i], "| ")
			}
			rows = append(rows, cells)
		}
	}
	if len(rows) != len(settings) {
		t.Fatalf("the README has %d rows of flags, want %d", len(rows), len(settings))
	}
	code := func(s string) string { return "`" + s + "`" }
	for i, s := range settings {
		conf := "none"
		if s.conf != "" {
			var keys []string
			for _, k := range strings.Split(s.conf, ", ") {
				keys = append(keys, code(k))
			}
			conf = strings.Join(keys, ", ")
		}
		def := "none"
		if s.def != "" {
			def = code(s.def)
		}
		want := []string{code("-" + s.name), code(s.env), conf, def}
		if fmt.Sprint(rows[i][:4]) != fmt.Sprint(want) {
			t.Errorf("README row %d: %q, want %q", i+1, rows[i][:4], want)
		}
	}
}

// TestConfigDurations: durations are time.ParseDuration's.
func TestConfigDurations(t *testing.T) {
	l, err := loadConfig([]string{"-shutdown-timeout", "1m30s", "-shutdown-delay", "250ms"}, noEnv)
	if err != nil || l.cfg.limits.shutdown != 90*time.Second || l.cfg.limits.delay != 250*time.Millisecond {
		t.Fatalf("durations: %+v, %v", l.cfg.limits, err)
	}
}
