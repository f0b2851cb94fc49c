// Package logging builds the zerolog loggers of the commands under
// server/: human-readable lines on a terminal, JSON lines otherwise.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// New returns a logger of level (a zerolog level name: debug, info, warn,
// error) writing to out, with a timestamp on every line: through a
// zerolog.ConsoleWriter when out is a terminal, as JSON otherwise.
func New(level string, out io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("log level %q: %w", level, err)
	}
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			out = zerolog.ConsoleWriter{Out: f, TimeFormat: time.TimeOnly}
		}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}
