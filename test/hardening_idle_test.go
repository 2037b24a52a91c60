package test

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	idleConns  = 5000
	legitSends = 50
	// idleMax is the daemon's max_connections: room for the idle
	// connections and the legitimate client, not much more.
	idleMax = idleConns + 10
)

// raiseFileLimit makes room for n more descriptors in this process,
// within the hard limit; it skips the test when that is not enough.
func raiseFileLimit(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	want := min(n+1024, lim.Max)
	if lim.Cur < want {
		lim.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Skipf("setrlimit: %v", err)
		}
	}
	if lim.Cur < n+256 {
		t.Skipf("open file limit %d is too low for %d connections", lim.Cur, n)
	}
}

// openIdle opens n connections to addr from 127.0.0.3 that never send a
// byte; they are closed at cleanup.
func openIdle(t testing.TB, addr string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 20 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				conns[i], errs[i] = d.Dial("tcp", addr)
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("opening idle connections: %v", err)
		}
	}
	return conns
}

// startIdleDaemon starts posthorn for idle-load runs and holds idleConns
// idle connections open to it.
func startIdleDaemon(t testing.TB) *posthorn {
	t.Helper()
	raiseFileLimit(t, idleConns+200)
	p := startHardened(t, hardConfig{SMTP: fmt.Sprintf("max_connections = %d\nmax_connections_per_ip = 0\n", idleMax)})
	openIdle(t, p.Addr, idleConns)
	return p
}

// TestIdleConnectionsDoNotStarveClients holds 5,000 idle connections open
// and sends 50 messages from another client: every one is accepted. The
// latency of the legitimate sessions is reported, not asserted (see
// BenchmarkSendUnderIdleLoad). Connections beyond max_connections get 421.
func TestIdleConnectionsDoNotStarveClients(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 connections; skipped with -short")
	}
	p := startIdleDaemon(t)
	lat := make([]time.Duration, 0, legitSends)
	for i := 0; i < legitSends; i++ {
		start := time.Now()
		if err := sendVia("127.0.0.1", p.Addr, "app@example.org", "b@example.net", "Subject: legit\r\n\r\nx\r\n"); err != nil {
			t.Fatalf("message %d under idle load: %v", i, err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("%d sessions with %d idle connections open: p50 %v, p90 %v, p99 %v, max %v", legitSends, idleConns,
		lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100], lat[len(lat)-1])
	if q := p.queue(t); len(q) != legitSends {
		t.Errorf("%d messages queued, want %d", len(q), legitSends)
	}

	// Beyond max_connections: refused with 421 and closed.
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
	refused := 0
	for i := 0; i < 2*(idleMax-idleConns); i++ {
		c, err := d.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		switch {
		case strings.HasPrefix(line, "421 4.7.0"):
			refused++
		case strings.HasPrefix(line, "220 "):
			defer c.Close() // holds a slot
			continue
		default:
			t.Errorf("connection %d beyond the idle ones: %q", i, line)
		}
		c.Close()
	}
	if refused == 0 {
		t.Errorf("no connection beyond max_connections (%d) was refused", idleMax)
	}
}

// BenchmarkSendUnderIdleLoad measures one SMTP session (connect, one
// message, QUIT) while 5,000 idle connections are held open.
func BenchmarkSendUnderIdleLoad(b *testing.B) {
	p := startIdleDaemon(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := sendVia("127.0.0.1", p.Addr, "app@example.org", "b@example.net", "Subject: bench\r\n\r\nx\r\n"); err != nil {
			b.Fatal(err)
		}
	}
}
