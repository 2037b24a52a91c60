package postfix

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Sink is a running smtp-sink(1) that accepts every message and counts it.
//
// The count comes from smtp-sink's -c option: it prints
// "sess=N quit=N mesg=N" followed by a carriage return each time a session
// ends, QUIT is received or a message's final "." is received. Sink parses
// that stream as it arrives. With SinkOptions.Dump, every transaction is
// also written to a file (-d), which Messages parses.
type Sink struct {
	Addr    string // 127.0.0.1:PORT
	DumpDir string // "" unless SinkOptions.Dump

	proc    *process
	counter *sinkCounter
	stderr  *tailBuffer
}

// SinkOptions configures StartSink.
type SinkOptions struct {
	// Addr to listen on; "" picks a free 127.0.0.1 port.
	Addr string
	// Dump writes each transaction to a file so Messages can return it.
	// This costs a file per message: leave it off for throughput runs.
	Dump bool
	// Args are extra smtp-sink options, e.g. {"-r", "RCPT"} to reject
	// recipients with 4xx.
	Args []string
}

// sinkCounter parses smtp-sink -c output.
type sinkCounter struct {
	mu      sync.Mutex
	partial []byte
	mesg    int
	sess    int
	changed chan struct{} // closed and replaced on every change
}

func newSinkCounter() *sinkCounter { return &sinkCounter{changed: make(chan struct{})} }

func (c *sinkCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexAny(c.partial, "\r\n")
		if i < 0 {
			break
		}
		c.parse(c.partial[:i])
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

// parse reads one "sess=N quit=N mesg=N" line; anything else is ignored.
func (c *sinkCounter) parse(line []byte) {
	for _, field := range bytes.Fields(line) {
		k, v, ok := bytes.Cut(field, []byte("="))
		if !ok {
			continue
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			continue
		}
		switch string(k) {
		case "mesg":
			c.mesg = n
		case "sess":
			c.sess = n
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *sinkCounter) get() (mesg, sess int, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mesg, c.sess, c.changed
}

// StartSink starts smtp-sink on opts.Addr (or a free port) and stops it in
// t.Cleanup.
func StartSink(t testing.TB, tools Tools, opts SinkOptions) *Sink {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startSink(t, tools, opts)
		if err == nil {
			return s
		}
		lastErr = err
		if opts.Addr != "" {
			break // the caller chose the port; retrying cannot help
		}
	}
	t.Fatalf("starting smtp-sink: %v", lastErr)
	return nil
}

func startSink(t testing.TB, tools Tools, opts SinkOptions) (*Sink, error) {
	addr := opts.Addr
	if addr == "" {
		addr = FreeAddr(t)
	}
	s := &Sink{Addr: addr, counter: newSinkCounter(), stderr: newTailBuffer(16 << 10)}
	args := []string{"-c", "-4", "-m", "1000", "-t", "300"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody") // smtp-sink refuses to run as root
	}
	if opts.Dump {
		s.DumpDir = filepath.Join(t.TempDir(), "dump")
		if err := os.Mkdir(s.DumpDir, 0o777); err != nil {
			return nil, err
		}
		if err := os.Chmod(s.DumpDir, 0o777); err != nil { // undo umask: smtp-sink writes as nobody
			return nil, err
		}
		if err := openUp(s.DumpDir); err != nil {
			return nil, err
		}
		args = append(args, "-d", s.DumpDir+"/msg.")
	}
	args = append(args, opts.Args...)
	args = append(args, "inet:"+addr, "256")
	cmd := exec.Command(tools.SMTPSink, args...)
	cmd.Stdout = s.counter
	cmd.Stderr = s.stderr
	p, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	s.proc = p
	if err := WaitListening(addr, 10*time.Second, p.alive); err != nil {
		_ = p.stop(5 * time.Second)
		return nil, fmt.Errorf("%w; stderr: %s", err, s.stderr.String())
	}
	t.Cleanup(func() {
		if err := p.stop(5 * time.Second); err != nil {
			t.Errorf("stopping smtp-sink: %v", err)
		}
		if t.Failed() {
			t.Logf("smtp-sink %s stderr:\n%s", addr, s.stderr.String())
		}
	})
	return s, nil
}

// Count returns how many messages (final "." received) the sink has
// accepted so far.
func (s *Sink) Count() int {
	n, _, _ := s.counter.get()
	return n
}

// Sessions returns how many SMTP sessions have ended so far.
func (s *Sink) Sessions() int {
	_, n, _ := s.counter.get()
	return n
}

// WaitCount waits until the sink has accepted at least n messages, failing
// the test after timeout.
func (s *Sink) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	if err := s.waitCount(n, timeout); err != nil {
		t.Fatal(err)
	}
}

func (s *Sink) waitCount(n int, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		got, _, changed := s.counter.get()
		if got >= n {
			return nil
		}
		if !s.proc.alive() {
			return fmt.Errorf("smtp-sink exited after %d of %d messages: %s", got, n, s.stderr.String())
		}
		select {
		case <-changed:
		case <-s.proc.done:
		case <-timer.C:
			got, _, _ = s.counter.get()
			return fmt.Errorf("smtp-sink got %d of %d messages in %v", got, n, timeout)
		}
	}
}
