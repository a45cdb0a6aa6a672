package pgtest

import (
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections from a port of 127.0.0.1 to a server. Stop
// drops every connection and refuses new ones, as a server that went away
// does; Start listens again on the same port.
type Proxy struct {
	target string

	mu    sync.Mutex
	addr  string // the port it serves, kept across Stop and Start
	ln    net.Listener
	conns map[net.Conn]bool
}

// NewProxy returns a stopped proxy to target (host:port).
func NewProxy(target string) *Proxy {
	return &Proxy{target: target, conns: map[net.Conn]bool{}}
}

// Addr is the host:port the proxy serves ("" before the first Start).
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Start listens: on a free port the first time, on the same port after.
// The port was the proxy's a moment ago, but another process may have
// taken it since: Start retries briefly, then fails rather than hangs.
func (p *Proxy) Start() error {
	addr := p.Addr()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return nil
}

func (p *Proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); s.Close(); c.Close() }()
	go func() { _, _ = io.Copy(c, s); s.Close(); c.Close() }()
}

// Stop closes the listener and every connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
