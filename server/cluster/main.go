//go:build unix

// Command cluster runs the BirdWatch server as several instances on one
// Redis behind the round-robin proxy, on one port (`make cluster`).
//
// It starts redis-server on a free loopback port (unless -redis-addr is
// given), builds ./server once and starts -n instances on 127.0.0.1 from
// -base-port on: instances 2..n receive their tweets from Redis, then
// instance 1 publishes synthetic tweets there (its backfill reaches them
// all). The proxy (package server/internal/roundrobin) serves them at
// -addr. Kill an instance (its pid is printed) and the others keep serving.
//
// SIGINT or SIGTERM stop the proxy, then the instances (SIGTERM, killed
// after stopWait), then redis-server, and remove the build.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/internal/logging"
	"github.com/sente-go/sente/server/internal/roundrobin"
)

const (
	startWait = 30 * time.Second      // for redis-server or an instance to answer
	stopWait  = 15 * time.Second      // for the instances to exit after SIGTERM (their own shutdown takes up to 10 s)
	pollEvery = 50 * time.Millisecond // between readiness checks of a starting process
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// run starts everything and blocks until SIGINT/SIGTERM; its deferred
// calls stop what was started, newest first.
func run(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	addr := fs.String("addr", ":8888", "proxy listen address")
	redisAddr := fs.String("redis-addr", "", "Redis host:port to use; empty: start redis-server on a free loopback port")
	basePort := fs.Int("base-port", 8891, "port of the first instance; the others follow")
	n := fs.Int("n", 3, "number of instances")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || fs.NArg() > 0 {
		return errors.New("want -n of at least 1 and no arguments")
	}
	log, _ := logging.New("info", os.Stderr) // a valid level: no error
	ln, err := net.Listen("tcp", *addr)      // first: a busy port fails before anything starts
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close() // proxy.Serve closes it; this is for an early return
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "sente-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if *redisAddr == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			return errors.New("redis-server not found: install redis-server (apt-get install redis-server), or pass -redis-addr")
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		*redisAddr = "127.0.0.1:" + port
		redis, err := start("redis", log, nil, "redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--loglevel", "warning")
		if err != nil {
			return err
		}
		defer stopAll(log, redis)
		if err := waitReady(ctx, redis, func() bool { return dial(*redisAddr) }); err != nil {
			return err
		}
	}

	bin := filepath.Join(dir, "server")
	log.Info().Msg("building ./server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./server: %w", err)
	}

	// Instances 2..n subscribe first, so that instance 1's backfill,
	// published when it starts, reaches them too.
	instances := make([]*process, *n)
	backends := make([]*url.URL, *n)
	defer func() { stopAll(log, instances...) }()
	// One CSRF token for all, given explicitly: a page from any instance
	// is served by every other, even after Redis restarts empty.
	var tok [16]byte
	rand.Read(tok[:])
	// In the environment, not on command lines that ps shows.
	env := append(os.Environ(), "SENTE_CSRF_TOKEN="+hex.EncodeToString(tok[:]))
	for k := 1; k <= *n; k++ {
		i := k % *n // 1, …, n-1, then 0
		hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(*basePort+i))
		backends[i] = &url.URL{Scheme: "http", Host: hostPort}
		args := []string{"-addr", hostPort, "-redis-addr", *redisAddr, "-source", "redis"}
		if i == 0 {
			args = []string{"-addr", hostPort, "-redis-addr", *redisAddr, "-source", "synthetic", "-redis-publish"}
		}
		p, err := start(fmt.Sprintf("server-%d", i+1), log, env, bin, args...)
		if err != nil {
			return err
		}
		instances[i] = p
		if err := waitReady(ctx, p, func() bool { return healthy(backends[i].String() + "/readyz") }); err != nil {
			return err
		}
	}

	proxy, err := roundrobin.New(backends, log.With().Str("component", "proxy").Logger())
	if err != nil {
		return err
	}
	fmt.Printf("\nBirdWatch: %d instances on Redis %s behind a round-robin proxy:\n\n    http://localhost:%d/\n\n", *n, *redisAddr, ln.Addr().(*net.TCPAddr).Port)
	for i, p := range instances {
		fmt.Printf("    %s  pid %-7d %s\n", p.name, p.cmd.Process.Pid, backends[i])
	}
	fmt.Printf("\nKill an instance (kill %d) and reload the page: the proxy skips it and the others keep serving.\nCtrl-C stops everything.\n\n", instances[len(instances)-1].cmd.Process.Pid)
	return proxy.Serve(ctx, ln)
}

// process is a child process whose output is prefixed with its name.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// start runs name's program with args in its own process group (so that
// a Ctrl-C reaches only this command, which stops its children in order).
// A goroutine waits for the process and closes done.
func start(name string, log zerolog.Logger, env []string, program string, args ...string) (*process, error) {
	cmd := exec.Command(program, args...)
	cmd.Env = env // nil: this process's environment
	out := &prefixWriter{prefix: name + " | ", out: os.Stdout}
	cmd.Stdout, cmd.Stderr = out, out // one writer: exec copies both with one goroutine at a time
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		log.Info().Str("process", name).Int("pid", cmd.Process.Pid).AnErr("status", err).Msg("exited")
		close(p.done)
	}()
	return p, nil
}

// stopAll sends SIGTERM to every process, then waits for each until
// stopWait has passed, and kills those still running. nil entries (never
// started) are skipped.
func stopAll(log zerolog.Logger, procs ...*process) {
	for _, p := range procs {
		if p != nil {
			p.cmd.Process.Signal(syscall.SIGTERM) // fails only if it has exited
		}
	}
	deadline := time.NewTimer(stopWait)
	defer deadline.Stop()
	for _, p := range procs {
		if p == nil {
			continue
		}
		select {
		case <-p.done:
		case <-deadline.C:
			deadline.Reset(0) // the time is up for the rest as well
			log.Warn().Str("process", p.name).Msg("did not stop in time, killing it")
			p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// waitReady polls ready until it holds, p exits, ctx is done or startWait
// has passed.
func waitReady(ctx context.Context, p *process, ready func() bool) error {
	deadline := time.Now().Add(startWait)
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not get ready within %s", p.name, startWait)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited while starting", p.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	return nil
}

// dial reports whether something accepts TCP connections at addr.
func dial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// healthy reports whether GET url answers 200.
func healthy(url string) bool {
	c := http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// prefixWriter writes each complete line to out with prefix before it.
// It is safe for concurrent use.
type prefixWriter struct {
	prefix string
	out    io.Writer
	mu     sync.Mutex // guards buf
	buf    []byte     // the incomplete last line
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	var lines []byte
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		lines = append(append(lines, w.prefix...), w.buf[:i+1]...)
		w.buf = w.buf[i+1:]
	}
	if len(lines) > 0 {
		w.out.Write(lines) // a failed write to our own output is no reason to stop the child
	}
	return len(p), nil
}
