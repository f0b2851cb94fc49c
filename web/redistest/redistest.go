// Package redistest runs a throwaway redis-server for tests, as
// net/http/httptest runs an HTTP server: on a free loopback port, without
// persistence, stopped when the test ends; StartCluster runs it as a
// one-node Redis Cluster, which refuses, as any Redis Cluster does, a
// command whose keys are in several hash slots (CROSSSLOT).
package redistest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startWait bounds how long Start and Restart wait for the server to answer.
const startWait = 10 * time.Second

// Server is a redis-server process of one test. Its methods must be called
// from the test's goroutine.
type Server struct {
	t       testing.TB
	port    string
	opts    Options
	tls     *tlsFiles // with Options.TLS
	cluster string    // the directory of the node's cluster configuration; "" when not a cluster
	cmd     *exec.Cmd
	out     bytes.Buffer
}

// Options are the settings of StartWith.
type Options struct {
	// Password, when set, is required of clients (requirepass).
	Password string
	// TLS adds a TLS port (TLSAddr) with a throwaway certificate of a
	// throwaway authority (CAFile), besides the plain port.
	TLS bool
}

// Start starts a redis-server on a free port and kills it when the test
// ends. Without a redis-server binary the test fails when the environment
// variable CI is set (CI installs it) and is skipped, loudly, otherwise.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with opts.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	return start(t, opts, "")
}

// StartCluster is Start for a Redis Cluster of one node, which serves
// every hash slot; Restart keeps its slots.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	return start(t, Options{}, t.TempDir())
}

func start(t testing.TB, opts Options, cluster string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed (CI is set; .ci/run installs it)")
		}
		t.Skip("SKIPPING: redis-server is not installed; install it (apt-get install redis-server) to run the Redis tests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	s := &Server{t: t, port: port, opts: opts, cluster: cluster}
	if opts.TLS {
		s.tls = newTLSFiles(t)
	}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + s.port }

// Client returns a new client of the server that does not retry; the
// caller closes it.
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.opts.Password, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
}

// ClusterClient returns a new Redis Cluster client of a server started
// with StartCluster that does not retry; the caller closes it.
func (s *Server) ClusterClient() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr()}, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
}

// Restart starts redis-server on the server's port (again, after Kill)
// and waits until it answers PING, and for a cluster until it serves
// every slot.
func (s *Server) Restart() {
	s.t.Helper()
	s.out.Reset()
	args := []string{"--port", s.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	if s.tls != nil {
		args = append(args, "--tls-port", s.tls.port, "--tls-cert-file", s.tls.cert, "--tls-key-file", s.tls.key,
			"--tls-ca-cert-file", s.tls.ca, "--tls-auth-clients", "no")
	}
	if s.cluster != "" {
		args = append(args, "--cluster-enabled", "yes", "--dir", s.cluster, "--cluster-config-file", "nodes.conf")
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout = &s.out
	cmd.Stderr = &s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	s.cmd = cmd
	c := s.Client()
	defer c.Close()
	deadline := time.Now().Add(startWait)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatalf("redis-server on port %s did not answer:\n%s", s.port, s.out.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a process that is starting, bounded above
	}
	if s.cluster != "" {
		s.serveAllSlots(c, deadline)
	}
}

// serveAllSlots gives the node every hash slot, unless it has them from
// before a restart, and waits until the cluster is up.
func (s *Server) serveAllSlots(c *redis.Client, deadline time.Time) {
	s.t.Helper()
	ctx := context.Background()
	if info, _ := c.ClusterInfo(ctx).Result(); !strings.Contains(info, "cluster_slots_assigned:16384") {
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
			s.Kill()
			s.t.Fatalf("redis-server on port %s: CLUSTER ADDSLOTSRANGE: %v", s.port, err)
		}
	}
	for {
		info, _ := c.ClusterInfo(ctx).Result()
		if strings.Contains(info, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatalf("redis-server on port %s: the cluster is not up:\n%s", s.port, info)
		}
		time.Sleep(10 * time.Millisecond) // polling a node that is starting, bounded above
	}
}

// Kill kills redis-server, as a crash would, and waits for it to exit.
// Killing a killed server does nothing.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}
