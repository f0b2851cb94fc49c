package web

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the transcript golden files under testdata/web")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
