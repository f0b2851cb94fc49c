package web

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// Metrics
//
// A Server counts what it does with atomic counters, on the paths that do
// it, and reads them only when its Collector is collected: a scrape pays
// for the walk of the registry (the open connections by transport and
// generation), a frame pays for an atomic add. No label is looked up and
// nothing is allocated per frame or per event; the labels are fixed sets
// (transports, generations, reasons) and the event ids the application
// names in Config.MetricsEventIDs.

// metricsNamespace prefixes every metric name.
const metricsNamespace = "sente"

// otherEventLabel is the event label of the events whose id
// Config.MetricsEventIDs does not name: a client cannot make label
// values.
const otherEventLabel = "other"

// pushKind is what published a push: Send, Broadcast or BroadcastLocal.
type pushKind uint8

const (
	pushSend pushKind = iota
	pushBroadcast
	pushBroadcastLocal
	numPushKinds
)

var pushKindLabels = [numPushKinds]string{"send", "broadcast", "broadcast_local"}

// callbackOutcome is how a callback of a client event ended.
type callbackOutcome uint8

const (
	// callbackAnswered: the application's reply was written (or queued).
	callbackAnswered callbackOutcome = iota
	// callbackTimedOut: an Ajax POST was answered :chsk/timeout
	// (Config.CallbackTimeout, or Close).
	callbackTimedOut
	// callbackExpired: the reply came after its connection or request
	// was gone (ErrReplyExpired), or the client left first.
	callbackExpired
	numCallbackOutcomes
)

var callbackOutcomeLabels = [numCallbackOutcomes]string{"answered", "timed_out", "expired"}

// frameRefusal is why a client frame (a WebSocket message, an Ajax
// POST's ppstr) was dropped.
type frameRefusal uint8

const (
	refusedBinary    frameRefusal = iota // a binary frame or binary? POST: no binary packer
	refusedFormat                        // not the client's (or the server's) packer format
	refusedMalformed                     // does not parse
	refusedReserved                      // an event in the reserved chsk namespace
	refusedTooBig                        // over Config.ReadLimit
	numFrameRefusals
)

var frameRefusalLabels = [numFrameRefusals]string{"binary", "format", "malformed", "reserved", "too_big"}

// requestRefusal is why a request was refused before it reached a
// connection: the CSRF and origin checks, the client token, Authorize.
type requestRefusal uint8

const (
	refusedCSRF         requestRefusal = iota // 403 "Bad CSRF token"
	refusedOrigin                             // 403 "Unauthorized origin"
	refusedClientToken                        // 403: a client token bad, expired, foreign or of an ended binding, or none
	refusedUnauthorized                       // Config.Authorize refused it
	numRequestRefusals
)

var requestRefusalLabels = [numRequestRefusals]string{"csrf", "origin", "client_token", "unauthorized"}

// generationLabels are the generation label values, indexed by
// protocol.Generation: "unknown" while a connection's client has not told
// its generation.
var generationLabels = [protocol.NumGenerations]string{
	protocol.GenUnknown: "unknown", protocol.GenFlexi: "flexi", protocol.GenV1: "v1",
	protocol.GenV2Mixed: "v2mixed", protocol.GenV2: "v2",
}

// transportLabels are the transport label values, indexed by
// Transport.index.
var transportLabels = [numTransports]string{TransportWS.String(), TransportAjax.String()}

// batchBuckets are the buckets of the batch-size histogram, in events.
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// metrics are a Server's counters. The zero value counts nothing by
// event id (newMetrics names them) and has no histograms.
type metrics struct {
	handshakes    [numTransports]atomic.Uint64
	events        []atomic.Uint64 // by eventIndex; the last is otherEventLabel
	eventIndex    map[transit.Keyword]int
	eventLabels   []string
	pushes        [numPushKinds]atomic.Uint64
	publishErrors atomic.Uint64
	frames        [numTransports]atomic.Uint64
	bytes         [numTransports]atomic.Uint64
	callbacks     [numTransports][numCallbackOutcomes]atomic.Uint64
	heldPolls     atomic.Int64
	parked        atomic.Int64 // WebSockets parked with the poller (wsConn.park)
	slow          [numTransports]atomic.Uint64
	frameRefused  [numTransports][numFrameRefusals]atomic.Uint64
	refused       [numRequestRefusals]atomic.Uint64
	batchVec      *prometheus.HistogramVec
	batches       [numTransports]prometheus.Observer // batchVec's, resolved once
}

// newMetrics returns the counters of a Server that counts the events of
// ids by id.
func newMetrics(ids []transit.Keyword) *metrics {
	m := &metrics{eventIndex: make(map[transit.Keyword]int, len(ids))}
	for _, id := range ids {
		if _, dup := m.eventIndex[id]; dup || string(id) == otherEventLabel {
			continue
		}
		m.eventIndex[id] = len(m.eventLabels)
		m.eventLabels = append(m.eventLabels, string(id))
	}
	m.eventLabels = append(m.eventLabels, otherEventLabel)
	m.events = make([]atomic.Uint64, len(m.eventLabels))
	m.batchVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "push_batch_events",
		Help:    "Events per push batch flushed to the connections of a transport (the batch window, Config.WSBatchWindow and AjaxBatchWindow, or Flush).",
		Buckets: batchBuckets,
	}, []string{"transport"})
	for i, l := range transportLabels {
		m.batches[i] = m.batchVec.WithLabelValues(l)
	}
	return m
}

// event counts a client event of id handed to the application.
func (m *metrics) event(id transit.Keyword) {
	i, ok := m.eventIndex[id]
	if !ok {
		i = len(m.events) - 1
	}
	m.events[i].Add(1)
}

// sent counts a frame of n bytes written to a client of transport t.
func (m *metrics) sent(t Transport, n int) {
	i := t.index()
	m.frames[i].Add(1)
	m.bytes[i].Add(uint64(n))
}

// callback counts a callback of a client event of transport t ending so.
func (m *metrics) callback(t Transport, o callbackOutcome) { m.callbacks[t.index()][o].Add(1) }

// frameRefusal counts a client frame of transport t dropped for r.
func (m *metrics) frameRefusal(t Transport, r frameRefusal) { m.frameRefused[t.index()][r].Add(1) }

// refusal counts a request refused for r.
func (m *metrics) refusal(r requestRefusal) { m.refused[r].Add(1) }

// MetricsCollector is a Server's prometheus.Collector (Server.Collector).
// Register it with a registry of the application's; the Server registers
// nothing itself. Every metric name has the prefix sente_; two Servers in
// one registry need a label to tell them apart
// (prometheus.WrapRegistererWith).
type MetricsCollector struct {
	s *Server
}

var _ prometheus.Collector = (*MetricsCollector)(nil)

// Collector returns the Server's metrics collector, for the
// application's registry: see MetricsCollector.
func (s *Server) Collector() *MetricsCollector { return &MetricsCollector{s: s} }

// The metric descriptions, one per name.
var (
	descConnections = prometheus.NewDesc("sente_connections",
		"Open connections of this server, by transport and client generation (unknown until the client tells it).",
		[]string{"transport", "generation"}, nil)
	descConnectedUIDs = prometheus.NewDesc("sente_connected_uids",
		"Uids with a connection (or within their disconnect grace) on this server.", nil, nil)
	descHandshakes = prometheus.NewDesc("sente_handshakes_total",
		"Handshakes written: one per WebSocket, one per Ajax handshake poll.", []string{"transport"}, nil)
	descEvents = prometheus.NewDesc("sente_events_received_total",
		"Client events handed to the application, by event id (those of Config.MetricsEventIDs, else other).",
		[]string{"event"}, nil)
	descPushes = prometheus.NewDesc("sente_pushes_total",
		"Pushes the application published: Send, Broadcast or BroadcastLocal calls accepted.", []string{"kind"}, nil)
	descPublishErrors = prometheus.NewDesc("sente_backplane_publish_errors_total",
		"Publications that failed: refused by the Broker here, or a publish to the network that failed (retried by the broker).", nil, nil)
	descDropped = prometheus.NewDesc("sente_backplane_dropped_total",
		"Publications the backplane dropped (a networked Broker's full queue, a Cluster's Ajax mailbox writes during an outage).",
		[]string{"component"}, nil)
	descUp = prometheus.NewDesc("sente_backplane_up",
		"Whether the backplane component reaches its network (1) or is in an outage (0); 1 for in-memory ones.",
		[]string{"component"}, nil)
	descFrames = prometheus.NewDesc("sente_frames_sent_total",
		"Frames written to clients (handshakes, push batches, replies, answers to polls), WebSocket pings excluded.",
		[]string{"transport"}, nil)
	descBytes = prometheus.NewDesc("sente_sent_bytes_total",
		"Bytes of the frames of sente_frames_sent_total (payloads, without WebSocket or HTTP framing).",
		[]string{"transport"}, nil)
	descCallbacks = prometheus.NewDesc("sente_callbacks_total",
		"Client events with a callback, by how it ended: answered, timed_out (an Ajax POST answered :chsk/timeout), expired (the reply came too late, or the client left).",
		[]string{"transport", "outcome"}, nil)
	descHeldPolls = prometheus.NewDesc("sente_held_polls",
		"Ajax long polls being held.", nil, nil)
	descParked = prometheus.NewDesc("sente_websockets_parked",
		"WebSockets parked: their clients have sent nothing more, and they have no goroutine until one does (0 where the system has no epoll).", nil, nil)
	descSlow = prometheus.NewDesc("sente_slow_consumers_total",
		"Connections cut because their send queue overflowed (Config.SendQueueLen, SendQueueBytes).",
		[]string{"transport"}, nil)
	descFrameRefused = prometheus.NewDesc("sente_frames_refused_total",
		"Client frames dropped, by reason: binary, format, malformed, reserved, too_big.",
		[]string{"transport", "reason"}, nil)
	descRefused = prometheus.NewDesc("sente_requests_refused_total",
		"Requests refused by the CSRF check, the origin check, the client token check or Config.Authorize.",
		[]string{"reason"}, nil)
)

// backplane components, the values of the component label.
const (
	componentBroker  = "broker"
	componentCluster = "cluster"
)

// Describe sends the descriptions of every metric.
func (c *MetricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descConnectedUIDs, descHandshakes, descEvents, descPushes,
		descPublishErrors, descDropped, descUp, descFrames, descBytes, descCallbacks, descHeldPolls, descParked, descSlow,
		descFrameRefused, descRefused} {
		ch <- d
	}
	c.s.m.batchVec.Describe(ch)
}

// Collect sends the current values. It walks the registry once, under its
// lock, for the open connections.
func (c *MetricsCollector) Collect(ch chan<- prometheus.Metric) {
	s, m := c.s, c.s.m
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	conns, uids := s.reg.connectionCounts()
	for t, l := range transportLabels {
		for g, gl := range generationLabels {
			gauge(descConnections, float64(conns[t][g]), l, gl)
		}
		counter(descHandshakes, m.handshakes[t].Load(), l)
		counter(descFrames, m.frames[t].Load(), l)
		counter(descBytes, m.bytes[t].Load(), l)
		counter(descSlow, m.slow[t].Load(), l)
		for o, ol := range callbackOutcomeLabels {
			counter(descCallbacks, m.callbacks[t][o].Load(), l, ol)
		}
		for r, rl := range frameRefusalLabels {
			counter(descFrameRefused, m.frameRefused[t][r].Load(), l, rl)
		}
	}
	gauge(descConnectedUIDs, float64(uids))
	for i, l := range m.eventLabels {
		counter(descEvents, m.events[i].Load(), l)
	}
	for k, l := range pushKindLabels {
		counter(descPushes, m.pushes[k].Load(), l)
	}
	for r, l := range requestRefusalLabels {
		counter(descRefused, m.refused[r].Load(), l)
	}
	gauge(descHeldPolls, float64(m.heldPolls.Load()))
	gauge(descParked, float64(m.parked.Load()))
	publishErrors := m.publishErrors.Load()
	for _, comp := range []struct {
		name string
		v    any
	}{{componentBroker, s.bp.broker}, {componentCluster, s.bp.cluster}} {
		var dropped uint64
		if d, ok := comp.v.(interface{ Dropped() uint64 }); ok {
			dropped = d.Dropped()
		}
		up := 1.0
		if r, ok := comp.v.(interface{ Reachable() bool }); ok && !r.Reachable() {
			up = 0
		}
		if p, ok := comp.v.(interface{ PublishErrors() uint64 }); ok {
			publishErrors += p.PublishErrors()
		}
		counter(descDropped, dropped, comp.name)
		gauge(descUp, up, comp.name)
	}
	counter(descPublishErrors, publishErrors)
	m.batchVec.Collect(ch)
}

// connectionCounts returns the live connections by transport index and
// generation, and the uids connected here.
func (r *registry) connectionCounts() (conns [numTransports][protocol.NumGenerations]int, uids int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cl := range r.clients {
		for i, t := range cl.conns {
			if t == nil {
				continue
			}
			conns[i][knownGeneration(t)]++
		}
	}
	for _, u := range r.users {
		if u.connected() {
			uids++
		}
	}
	return conns, uids
}

// knownGeneration returns the generation the client of t told (by its
// frames, its polls, or the probe), or GenUnknown.
func knownGeneration(t transport) protocol.Generation {
	var g protocol.Generation
	switch c := t.(type) {
	case *wsConn:
		g, _ = c.candidates().Only()
	case *ajaxConn:
		g = c.cl.pinned()
	}
	if !g.Valid() {
		return protocol.GenUnknown
	}
	return g
}
