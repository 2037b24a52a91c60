package syslogfwd

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector is a test syslog collector on 127.0.0.1 that parses octet-
// counted frames. A stuck collector accepts connections and never reads.
type collector struct {
	ln    net.Listener
	stuck bool

	mu    sync.Mutex
	msgs  []string
	errs  []string
	conns []net.Conn
	more  chan struct{}

	wg       sync.WaitGroup
	stopOnce sync.Once
}

func newCollector(t testing.TB, cfg *tls.Config, stuck bool) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	c := &collector{ln: ln, stuck: stuck, more: make(chan struct{}, 1)}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(c.stop)
	return c
}

func (c *collector) addr() string { return c.ln.Addr().String() }

func (c *collector) accept() {
	defer c.wg.Done()
	for {
		nc, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns = append(c.conns, nc)
		if !c.stuck { // a stuck collector never reads until released
			c.wg.Add(1)
			go c.read(nc)
		}
		c.mu.Unlock()
	}
}

func (c *collector) read(nc net.Conn) {
	defer c.wg.Done()
	r := bufio.NewReader(nc)
	for {
		lenField, err := r.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenField, " "))
		if err != nil || n <= 0 {
			c.fail(fmt.Sprintf("bad frame length %q", lenField))
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return // cut off by a closed connection
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, string(msg))
		c.mu.Unlock()
		c.signal()
	}
}

func (c *collector) fail(s string) {
	c.mu.Lock()
	c.errs = append(c.errs, s)
	c.mu.Unlock()
	c.signal()
}

func (c *collector) signal() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// wait returns the first n messages, failing the test if they do not come
// within 10 s or a frame was malformed.
func (c *collector) wait(t testing.TB, n int) []string {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		msgs, errs := append([]string(nil), c.msgs...), c.errs
		c.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("collector: %v", errs)
		}
		if len(msgs) >= n {
			return msgs[:n]
		}
		select {
		case <-c.more:
		case <-timeout.C:
			t.Fatalf("collector got %d messages, want %d: %q", len(msgs), n, msgs)
		}
	}
}

// release makes a stuck collector read its connections, held and new.
func (c *collector) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stuck {
		return
	}
	c.stuck = false
	for _, nc := range c.conns {
		c.wg.Add(1)
		go c.read(nc)
	}
}

// count returns the number of messages received so far.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// stop closes the listener and every connection and waits for the
// collector's goroutines.
func (c *collector) stop() {
	c.stopOnce.Do(func() {
		c.ln.Close()
		c.mu.Lock()
		for _, nc := range c.conns {
			nc.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
}

// message is a parsed RFC 5424 message.
type message struct {
	pri, version                          int
	ts, host, app, procid, msgid, sd, msg string
}

// parse splits an RFC 5424 message into its fields.
func parse(t testing.TB, s string) message {
	t.Helper()
	var m message
	end := strings.IndexByte(s, '>')
	if !strings.HasPrefix(s, "<") || end < 2 || end > 4 {
		t.Fatalf("no PRI in %q", s)
	}
	var err error
	if m.pri, err = strconv.Atoi(s[1:end]); err != nil {
		t.Fatalf("bad PRI in %q", s)
	}
	fields := strings.SplitN(s[end+1:], " ", 7)
	if len(fields) != 7 {
		t.Fatalf("too few fields in %q", s)
	}
	if m.version, err = strconv.Atoi(fields[0]); err != nil {
		t.Fatalf("bad VERSION in %q", s)
	}
	m.ts, m.host, m.app, m.procid, m.msgid = fields[1], fields[2], fields[3], fields[4], fields[5]
	rest := fields[6]
	if strings.HasPrefix(rest, "-") {
		m.sd, rest = "-", rest[1:]
	} else {
		i, quoted := 0, false
	scan:
		for ; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '"':
				quoted = !quoted
			case ']':
				if !quoted && (i+1 == len(rest) || rest[i+1] != '[') {
					i++
					break scan
				}
			}
		}
		m.sd, rest = rest[:i], rest[i:]
	}
	if rest != "" {
		if rest[0] != ' ' {
			t.Fatalf("no SP before MSG in %q", s)
		}
		m.msg = rest[1:]
	}
	return m
}

// sdParams returns the params of the one SD-ELEMENT in sd, unescaped.
func sdParams(t testing.TB, sd, id string) map[string]string {
	t.Helper()
	if !strings.HasPrefix(sd, "["+id) || !strings.HasSuffix(sd, "]") {
		t.Fatalf("SD %q is not one %s element", sd, id)
	}
	body := sd[len(id)+1 : len(sd)-1]
	params := map[string]string{}
	for body != "" {
		if body[0] != ' ' {
			t.Fatalf("SD %q: no SP before param", sd)
		}
		eq := strings.Index(body, `="`)
		if eq < 0 {
			t.Fatalf("SD %q: no =\" in param", sd)
		}
		name := body[1:eq]
		var v strings.Builder
		i := eq + 2
		for ; i < len(body) && body[i] != '"'; i++ {
			if body[i] == ']' {
				t.Fatalf("SD %q: unescaped ]", sd)
			}
			if body[i] == '\\' {
				i++
			}
			v.WriteByte(body[i])
		}
		if i == len(body) {
			t.Fatalf("SD %q: unterminated value", sd)
		}
		params[name] = v.String()
		body = body[i+1:]
	}
	return params
}

// lines is a concurrency-safe io.Writer that keeps what a JSON handler
// writes, one record per line.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSuffix(l.b.String(), "\n"), "\n")
}

// start runs f.Run until the test ends.
func start(t testing.TB, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
}

// waitFor polls cond every 5 ms for at most 10 s (and 2000 polls).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// counting is a slog.Handler that counts records.
type counting struct {
	mu sync.Mutex
	n  int
}

func (c *counting) Enabled(context.Context, slog.Level) bool { return true }
func (c *counting) Handle(context.Context, slog.Record) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}
func (c *counting) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *counting) WithGroup(string) slog.Handler      { return c }
func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
