package web

import (
	"context"
	"flag"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the transcript golden files under testdata/web")

// quietRedis drops go-redis's own log lines (dial failures while a test
// has stopped Redis on purpose); the brokers log each outage themselves.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{})
	goleak.VerifyTestMain(m)
}
