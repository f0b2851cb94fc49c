package redisconn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sente-go/sente/web/redistest"
)

// Each form of URL gives its kind of client with its settings, and the
// defaults where it is silent; bad URLs are refused without echoing the
// password.
func TestOpen(t *testing.T) {
	tests := []struct {
		url   string
		check func(t *testing.T, c redis.UniversalClient)
		err   string
	}{
		{url: "localhost:6380", check: single("localhost:6380", "", 0, false)},
		{url: "redis://u:secret@h:6379/2", check: single("h:6379", "secret", 2, false)},
		{url: "rediss://h:6390?dial_timeout=5s", check: func(t *testing.T, c redis.UniversalClient) {
			single("h:6390", "", 0, true)(t, c)
			if o := c.(*redis.Client).Options(); o.DialTimeout != 5*time.Second || o.ReadTimeout != ioTimeout {
				t.Errorf("timeouts %v, %v", o.DialTimeout, o.ReadTimeout)
			}
		}},
		{url: "redis://s1:26379?master_name=mymaster&addr=s2:26379", check: func(t *testing.T, c redis.UniversalClient) {
			if _, ok := c.(*redis.Client); !ok {
				t.Errorf("a Sentinel URL gave %T", c)
			}
		}},
		{url: "redis+cluster://n1:7000?addr=n2:7001", check: func(t *testing.T, c redis.UniversalClient) {
			cc, ok := c.(*redis.ClusterClient)
			if !ok {
				t.Fatalf("a cluster URL gave %T", c)
			}
			if o := cc.Options(); len(o.Addrs) != 2 || o.MaxRetries != -1 {
				t.Errorf("cluster options %v, retries %d", o.Addrs, o.MaxRetries)
			}
		}},
		{url: "", err: "empty"},
		{url: "http://h:1", err: "scheme"},
		{url: "redis://u:secret@h:1/notanumber", err: "database"},
		{url: "redis://u:secret@h:1?bogus=1", err: "bogus"},
		{url: "redis://h:1?ca_file=/nonexistent", err: "ca_file"},
		{url: "redis://u:sec%zzret@h:1", err: "escape"},
	}
	for _, tt := range tests {
		c, err := Open(tt.url)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Open(%q) = %v, want an error about %s", tt.url, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("Open(%q): the error shows the password: %v", tt.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tt.url, err)
			continue
		}
		tt.check(t, c)
		c.Close()
	}
	if got := Redact("redis://u:secret@h:1/0"); strings.Contains(got, "secret") {
		t.Errorf("Redact = %s", got)
	}
}

func single(addr, password string, db int, tls bool) func(*testing.T, redis.UniversalClient) {
	return func(t *testing.T, c redis.UniversalClient) {
		t.Helper()
		cl, ok := c.(*redis.Client)
		if !ok {
			t.Fatalf("got %T, want *redis.Client", c)
		}
		o := cl.Options()
		if o.Addr != addr || o.Password != password || o.DB != db || (o.TLSConfig != nil) != tls || o.MaxRetries != 0 || o.Protocol != 2 {
			t.Errorf("options %s %q db %d tls %v retries %d (0: none, from -1) protocol %d", o.Addr, o.Password, o.DB, o.TLSConfig != nil, o.MaxRetries, o.Protocol)
		}
	}
}

// A password-protected Redis and one over TLS (a throwaway authority,
// trusted through ca_file) answer through their URLs; a wrong password,
// or an untrusted certificate, does not.
func TestOpenAgainstRedis(t *testing.T) {
	rs := redistest.StartWith(t, redistest.Options{Password: "s3cret", TLS: true})
	ping := func(url string) error {
		c, err := Open(url)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	}
	for _, url := range []string{
		"redis://:s3cret@" + rs.Addr(),
		"rediss://:s3cret@" + rs.TLSAddr() + "?ca_file=" + rs.CAFile(),
	} {
		if err := ping(url); err != nil {
			t.Errorf("%s: %v", Redact(url), err)
		}
	}
	for _, url := range []string{
		"redis://:wrong@" + rs.Addr(),
		"redis://" + rs.Addr(),
		"rediss://:s3cret@" + rs.TLSAddr(), // the system does not trust the throwaway authority
	} {
		if err := ping(url); err == nil {
			t.Errorf("%s: answered", Redact(url))
		}
	}
}
