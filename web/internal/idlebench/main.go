// Command idlebench measures what an idle WebSocket connection costs a
// server process the way an operator sees it (issue 19): a separate load
// process opens N WebSocket clients that make the Sente 1.21 handshake
// (/chsk?client-id=…&csrf-token=…) and then stay idle, and the benchmark
// reads the server's resident set (VmRSS in /proc/PID/status), its live
// heap and its goroutine stacks (runtime/metrics, from an endpoint the
// server process exposes for the benchmark) before and after, per
// connection. In the same run it measures a raw gorilla chat-style hub
// the same way, as the baseline.
//
// It runs as three roles of the same binary: the driver (the default),
// which starts the other two as child processes; -role server, one
// server (-impl sente or hub); and -role load, the clients. Run it with
// `make idlemem`.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sente-go/sente/web"
)

// csrfToken is the token every server of the benchmark expects and every
// client presents.
const csrfToken = "idlebench"

// statsPath is the server process's endpoint for its runtime figures.
const statsPath = "/debug/idlebench"

func main() {
	role := flag.String("role", "driver", "driver, server or load")
	impl := flag.String("impl", "", "the server: sente or hub (role server)")
	addr := flag.String("addr", "", "the server's address (role load)")
	n := flag.Int("n", 10000, "the idle connections")
	dialers := flag.Int("dialers", 32, "the load process's concurrent dials")
	settle := flag.Duration("settle", 3*time.Second, "the wait between the last connection and the readings")
	impls := flag.String("impls", "hub,sente", "the servers the driver measures, in order")
	ping := flag.Duration("ping", 0, "the servers' ping interval (0: their default); the clients answer pings, as browsers do, when it is set")
	profile := flag.String("heapprofile", "", "a path prefix: the driver saves each server's heap profile, with the clients connected, to PREFIX-IMPL.pb.gz")
	flag.Parse()

	var err error
	switch *role {
	case "driver":
		err = drive(strings.Split(*impls, ","), *n, *dialers, *settle, *ping, *profile)
	case "server":
		err = serve(*impl, *ping)
	case "load":
		err = load(*addr, *impl, *n, *dialers, *ping > 0)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "idlebench %s: %v\n", *role, err)
		os.Exit(1)
	}
}

// raiseFDLimit raises the soft descriptor limit to the hard one and
// returns the soft limit in force.
func raiseFDLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("reading the descriptor limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raising the descriptor limit: %w", err)
		}
	}
	return lim.Cur, nil
}

// stats are a server process's runtime figures after a GC.
type stats struct {
	HeapLive   uint64 `json:"heap_live"`  // /gc/heap/live:bytes
	Stacks     uint64 `json:"stacks"`     // /memory/classes/heap/stacks:bytes
	Goroutines uint64 `json:"goroutines"` // /sched/goroutines:goroutines
	RSS        uint64 `json:"-"`          // VmRSS, read by the driver
}

// readStats collects the server's figures after two GCs (the second
// frees what the first one's finalizers and cleanups released).
func readStats() stats {
	runtime.GC()
	runtime.GC()
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	metrics.Read(samples)
	return stats{HeapLive: samples[0].Value.Uint64(), Stacks: samples[1].Value.Uint64(), Goroutines: samples[2].Value.Uint64()}
}

// serve runs one server until its standard input closes, printing its
// address on its standard output.
func serve(impl string, ping time.Duration) error {
	if _, err := raiseFDLimit(); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/pprof/heap", pprof.Handler("heap"))
	mux.HandleFunc(statsPath, func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(readStats()) // the driver reports a short answer
	})
	done := make(chan struct{})
	var closeApp func(context.Context) error
	switch impl {
	case "hub":
		h := newHub(ping)
		go h.run(done)
		mux.Handle("/chsk", h)
	case "sente":
		s, err := web.New(web.Config{CSRFToken: func(*http.Request) string { return csrfToken }, PingInterval: ping})
		if err != nil {
			return fmt.Errorf("sente server: %w", err)
		}
		go func() {
			for range s.Events() { // the application: drops every event; ends when Close does
			}
		}()
		mux.Handle("/chsk", s.Handler())
		closeApp = s.Close
	default:
		return fmt.Errorf("unknown server %q", impl)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		_ = srv.Serve(ln) // ends with Close below
	}()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the driver closes it
	close(done)
	if closeApp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = closeApp(ctx) // the process ends next
	}
	return srv.Close()
}

// load opens n idle WebSockets to addr, prints "ready <nanoseconds>"
// (the time the n connections took) and holds them until its standard
// input closes. A sente client waits for its handshake frame; a hub
// client for the upgrade response.
func load(addr, impl string, n, dialers int, pong bool) error {
	if lim, err := raiseFDLimit(); err != nil {
		return err
	} else if lim < uint64(n)+64 {
		return fmt.Errorf("descriptor limit %d is too low for %d connections", lim, n)
	}
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, dialers)
	start := time.Now()
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := dial(addr, fmt.Sprintf("idle-%06d", i), impl == "sente", buf)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					next.Store(int64(n))
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if pong {
		for _, c := range conns {
			go answerPings(c) // ends when the connection is closed below
		}
	}
	fmt.Printf("ready %d\n", took.Nanoseconds())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the driver closes it
	for _, c := range conns {
		_ = c.Close() // the process ends next
	}
	return nil
}

// dial opens one WebSocket as a Sente 1.21 client does and reads up to
// the end of the upgrade response, then, if handshake, up to the first
// frame. It keeps nothing but the net.Conn, so that the load process
// stays small.
func dial(addr, cid string, handshake bool, buf []byte) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	req := "GET /chsk?client-id=" + cid + "&csrf-token=" + csrfToken + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a failed deadline shows as a hang of the load process
	n := 0
	for {
		m, err := c.Read(buf[n:])
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("reading the upgrade: %w", err)
		}
		n += m
		if !strings.HasPrefix(string(buf[:min(n, 12)]), "HTTP/1.1 101"[:min(n, 12)]) {
			c.Close()
			return nil, fmt.Errorf("refused: %q", buf[:n])
		}
		i := strings.Index(string(buf[:n]), "\r\n\r\n")
		if i >= 0 && (!handshake || n > i+4) {
			break
		}
		if n == len(buf) {
			c.Close()
			return nil, errors.New("upgrade response too long")
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

// result is one server's figures.
type result struct {
	impl        string
	n           int
	base, after stats
	connect     time.Duration
	idleCPU     float64 // the server's CPU time over the settle period, per second of it
}

// drive measures each server in turn and prints the table.
func drive(impls []string, n, dialers int, settle, ping time.Duration, profile string) error {
	lim, err := raiseFDLimit()
	if err != nil {
		return err
	}
	if lim < uint64(n)+64 {
		fmt.Printf("descriptor limit %d: measuring %d connections, not %d\n", lim, lim-64, n)
		n = int(lim - 64)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the binary: %w", err)
	}
	var results []result
	for _, impl := range impls {
		r, err := measure(exe, impl, n, dialers, settle, ping, profile)
		if err != nil {
			return fmt.Errorf("%s: %w", impl, err)
		}
		results = append(results, r)
	}
	fmt.Printf("idle WebSockets: %d connections, GOMAXPROCS %d, %s\n", n, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("%-6s %12s %12s %14s %12s %16s %12s\n", "server", "RSS KiB/conn", "heap KiB/conn", "stacks KiB/conn", "goroutines/conn", "connect µs/conn", "idle CPU %")
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) / 1024 }
	for _, r := range results {
		fmt.Printf("%-6s %12.2f %13.2f %15.2f %15.2f %16.1f %11.1f\n", r.impl,
			per(r.base.RSS, r.after.RSS), per(r.base.HeapLive, r.after.HeapLive), per(r.base.Stacks, r.after.Stacks),
			(float64(r.after.Goroutines)-float64(r.base.Goroutines))/float64(n),
			float64(r.connect.Microseconds())/float64(n), 100*r.idleCPU)
	}
	return nil
}

// measure starts impl's server and the load process, and reads the
// server's figures before the clients connect and after they have been
// idle for settle.
func measure(exe, impl string, n, dialers int, settle, ping time.Duration, profile string) (result, error) {
	r := result{impl: impl, n: n}
	srv, line, err := startRole(exe, "-role", "server", "-impl", impl, "-ping", ping.String())
	if err != nil {
		return r, fmt.Errorf("the server: %w", err)
	}
	defer srv.stop()
	addr := strings.TrimSpace(line)
	if r.base, err = serverStats(addr, srv.cmd.Process.Pid); err != nil {
		return r, err
	}

	ld, line, err := startRole(exe, "-role", "load", "-impl", impl, "-addr", addr, "-n", strconv.Itoa(n), "-dialers", strconv.Itoa(dialers), "-ping", ping.String())
	if err != nil {
		return r, fmt.Errorf("the load process: %w", err)
	}
	defer ld.stop()
	ns, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(line), "ready "), 10, 64)
	if err != nil {
		return r, fmt.Errorf("the load process said %q", line)
	}
	r.connect = time.Duration(ns)
	cpu0, err := cpuTime(srv.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	start := time.Now()
	time.Sleep(settle) // the idle period the benchmark measures, not a wait for an event
	cpu1, err := cpuTime(srv.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	r.idleCPU = float64(cpu1-cpu0) / float64(time.Since(start))
	if r.after, err = serverStats(addr, srv.cmd.Process.Pid); err != nil {
		return r, err
	}
	if profile != "" {
		if err := saveHeapProfile(addr, profile+"-"+impl+".pb.gz"); err != nil {
			return r, err
		}
	}
	return r, nil
}

// child is a role of the benchmark running as a child process, which
// runs until its standard input closes.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
}

// startRole starts this binary with args, a role, and returns it with the
// first line it prints (the server's address, the load's "ready …").
func startRole(exe string, args ...string) (*child, string, error) {
	c := &child{cmd: exec.Command(exe, args...)}
	c.cmd.Stderr = os.Stderr
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, "", err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, "", fmt.Errorf("reading its first line: %w", err)
	}
	return c, line, nil
}

// stop closes the child's standard input and waits for it to exit.
func (c *child) stop() {
	c.in.Close()
	_ = c.cmd.Wait() // its exit status says nothing the figures need
}

// serverStats reads the server's VmRSS, then asks it for its runtime
// figures.
func serverStats(addr string, pid int) (stats, error) {
	rss, err := vmRSS(pid)
	if err != nil {
		return stats{}, err
	}
	resp, err := http.Get("http://" + addr + statsPath)
	if err != nil {
		return stats{}, fmt.Errorf("asking the server for its figures: %w", err)
	}
	defer resp.Body.Close()
	var st stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return stats{}, fmt.Errorf("decoding the server's figures: %w", err)
	}
	st.RSS = rss
	return st, nil
}

// cpuTime reads the CPU time process pid has used, user and system
// (/proc/PID/stat, in clock ticks of 10 ms, the USER_HZ of Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's stat: %w", err)
	}
	// The fields after the command name, which is in parentheses and
	// may hold spaces: state is the first, utime the 12th, stime the 13th.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing the server's stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parsing the server's stat %q", b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing the server's stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// vmRSS reads the resident set of process pid, in bytes.
func vmRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's status: %w", err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in the server's status")
}

// saveHeapProfile saves the server's heap profile, after a GC, to path.
func saveHeapProfile(addr, path string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return fmt.Errorf("asking the server for its heap profile: %w", err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("saving the heap profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("saving the heap profile: %w", err)
	}
	return f.Close()
}

// answerPings reads c's frames, a WebSocket client's, and answers each
// ping with a pong, as a browser does, until reading fails.
func answerPings(c net.Conn) {
	r := bufio.NewReaderSize(c, 512)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int64(hdr[1] & 0x7f)
		switch n {
		case 126, 127:
			ext := make([]byte, map[int64]int{126: 2, 127: 8}[n])
			if _, err := io.ReadFull(r, ext); err != nil {
				return
			}
			n = 0
			for _, b := range ext {
				n = n<<8 | int64(b)
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		if hdr[0]&0x0f != 0x9 { // not a ping
			continue
		}
		// A masked pong with the ping's payload (a zero mask).
		frame := append([]byte{0x8a, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}
