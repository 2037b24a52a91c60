package testutil

import (
	"net"
	"sync"
	"testing"
)

// ClosedAddr returns a loopback address on which nothing listens, so that a
// dial to it is refused. The port was free a moment ago; another test could
// in principle take it, which is as close as a closed port can be promised.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testutil: listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("testutil: close: %v", err)
	}
	return addr
}

// HangListener accepts TCP connections and never writes to them: a peer that
// is up at the TCP level but never greets. It is closed by t.Cleanup.
type HangListener struct {
	ln   net.Listener
	done chan struct{}

	mu      sync.Mutex
	conns   []net.Conn
	accepts int
}

// NewHangListener starts a HangListener on 127.0.0.1.
func NewHangListener(t testing.TB) *HangListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testutil: listen: %v", err)
	}
	h := &HangListener{ln: ln, done: make(chan struct{})}
	go h.loop()
	t.Cleanup(h.close)
	return h
}

// HangAddr starts a HangListener and returns its address.
func HangAddr(t testing.TB) string {
	t.Helper()
	return NewHangListener(t).Addr()
}

// Addr returns the listener's "host:port".
func (h *HangListener) Addr() string { return h.ln.Addr().String() }

// Accepts returns how many connections have been accepted so far.
func (h *HangListener) Accepts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accepts
}

func (h *HangListener) loop() {
	defer close(h.done)
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.accepts++
		h.conns = append(h.conns, c)
		h.mu.Unlock()
	}
}

func (h *HangListener) close() {
	_ = h.ln.Close()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.conns = nil
}
