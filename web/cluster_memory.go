package web

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// MemoryCluster is the Cluster of a Server alone, in memory: the default
// (Config.Cluster nil). There is no other server to share with, so the
// Server's own registry is the whole cluster: BindClient binds every
// client-id it is asked about (the registry asks only about those it does
// not hold) to a new uid, or, asked for a binding that must exist,
// answers ErrUnknownClient; SaveClient and SetPresence have nothing to
// write; the token secret is random; there are no mailboxes (each Ajax
// client's pushes wait in its connection's queue). Servers of one process
// that share a MemoryBroker each have their own MemoryCluster.
//
// It is safe for concurrent use. Build it with NewMemoryCluster.
type MemoryCluster struct {
	secret []byte // immutable

	mu      sync.Mutex // guards watched
	watched bool
}

var _ Cluster = (*MemoryCluster)(nil)

// NewMemoryCluster returns a MemoryCluster with a new random token secret.
func NewMemoryCluster() *MemoryCluster {
	return &MemoryCluster{secret: newTokenSecret()}
}

// Watch registers the one Server of the cluster; h is never called: there
// is no other server. See Cluster.
func (c *MemoryCluster) Watch(h ClusterHandler) (func(), error) {
	if h == nil {
		return nil, errNilHandler
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watched {
		return nil, errors.New("web: MemoryCluster already watched by a Server")
	}
	c.watched = true
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.watched = false
			c.mu.Unlock()
		})
	}, nil
}

// SetPresence does nothing: no other server reads it.
func (*MemoryCluster) SetPresence(string, TransportSet) {}

// BindClient binds cid to newUID(), or returns ErrUnknownClient without
// newUID; see MemoryCluster.
func (*MemoryCluster) BindClient(_ context.Context, _ string, newUID func() string, _ bool) (ClientRecord, error) {
	if newUID == nil {
		return ClientRecord{}, ErrUnknownClient
	}
	return ClientRecord{UID: newUID()}, nil
}

// SaveClient does nothing: the Server's registry holds its clients.
func (*MemoryCluster) SaveClient(context.Context, string, ClientRecord) error { return nil }

// TokenSecret returns the cluster's random secret; see Cluster.
func (c *MemoryCluster) TokenSecret(context.Context) ([]byte, error) {
	return slices.Clone(c.secret), nil
}

// Mailboxes returns nil: a Server alone keeps its Ajax clients' pushes in
// their connections' queues.
func (*MemoryCluster) Mailboxes() Mailboxes { return nil }
