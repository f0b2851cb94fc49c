//go:build !linux

package web

import "errors"

// wsPoller is a Server's poller of parked WebSockets (wspoll_linux.go);
// this system has none, and each connection's reader waits in a
// goroutine of its own.
type wsPoller struct{}

func newPoller() (*wsPoller, error) { return nil, errors.New("no epoll on this system") }

func (p *wsPoller) register(*wsConn)        {}
func (p *wsPoller) arm(*wsConn, bool) error { return errors.New("no epoll on this system") }
func (p *wsPoller) forget(*wsConn)          {}
func (p *wsPoller) run() error              { return nil }
func (p *wsPoller) close()                  {}
func (p *wsPoller) fail()                   {}
