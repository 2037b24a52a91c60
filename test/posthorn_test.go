package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// relayConfig is what a scenario varies in posthorn's config file.
type relayConfig struct {
	Upstreams      []string
	MaxMessageSize string // "" = default
	MaxRecipients  int    // 0 = default
	HTTPListen     string // "" = no HTTP listener
	Hostname       string // "" = relay.test
	SpoolSync      string // "" = the default
	// Extra is appended to the file; it must start with a table header.
	Extra string
}

// posthorn is a running "posthorn serve".
type posthorn struct {
	Addr    string // SMTP listener, 127.0.0.1:PORT
	HTTP    string // HTTP listener, "" when there is none
	Config  string // config file path
	LogFile string // its stderr
	bin     string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error // valid after done is closed
	stopped bool  // stop already ran
}

// writeConfig writes a config file for a relay listening on addr with its
// data directory below dir.
func writeConfig(t testing.TB, dir, addr string, rc relayConfig) string {
	t.Helper()
	var b strings.Builder
	host := rc.Hostname
	if host == "" {
		host = "relay.test"
	}
	fmt.Fprintf(&b, "hostname = %q\n", host)
	fmt.Fprintf(&b, "data_dir = %q\n", filepath.Join(dir, "data"))
	if rc.SpoolSync != "" {
		fmt.Fprintf(&b, "spool_sync = %q\n", rc.SpoolSync)
	}
	b.WriteString("\n[smtp]\n")
	fmt.Fprintf(&b, "listen = [%q]\n", addr)
	b.WriteString("trusted_networks = [\"127.0.0.0/8\"]\n")
	if rc.MaxMessageSize != "" {
		fmt.Fprintf(&b, "max_message_size = %q\n", rc.MaxMessageSize)
	}
	if rc.MaxRecipients > 0 {
		fmt.Fprintf(&b, "max_recipients = %d\n", rc.MaxRecipients)
	}
	fmt.Fprintf(&b, "\n[http]\nlisten = %q\n", rc.HTTPListen)
	b.WriteString("\n[delivery]\n")
	quoted := make([]string, len(rc.Upstreams))
	for i, u := range rc.Upstreams {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	fmt.Fprintf(&b, "upstreams = [%s]\n", strings.Join(quoted, ", "))
	b.WriteString("retry_schedule = [\"1s\"]\n")
	b.WriteString("tls = \"none\"\n")
	b.WriteString(rc.Extra)
	path := filepath.Join(dir, "posthorn.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newRelayConfig writes a config file on a free port without starting the
// daemon (for sendmail while posthorn is down). Start it with serve.
func newRelayConfig(t testing.TB, rc relayConfig) *posthorn {
	t.Helper()
	dir := t.TempDir()
	addr := postfix.FreeAddr(t)
	return &posthorn{
		Addr:    addr,
		HTTP:    rc.HTTPListen,
		Config:  writeConfig(t, dir, addr, rc),
		LogFile: filepath.Join(dir, "posthorn.log"),
		bin:     posthornBinary(t),
	}
}

// startPosthorn runs "posthorn serve" with a fresh config and waits until
// its SMTP port (and HTTP port, if any) accepts connections. A port taken in the meantime by
// someone else is retried with another.
func startPosthorn(t testing.TB, rc relayConfig) *posthorn {
	t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		p := newRelayConfig(t, rc)
		if err = p.serve(t); err == nil {
			return p
		}
	}
	t.Fatalf("starting posthorn: %v", err)
	return nil
}

// serve starts the daemon for p's config; t.Cleanup sends SIGTERM and
// checks that it exits 0.
func (p *posthorn) serve(t testing.TB) error {
	t.Helper()
	logf, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.bin, "serve", "--config", p.Config)
	p.cmd.Stdout = logf
	p.cmd.Stderr = logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.done = make(chan struct{})
	go func() {
		p.waitErr = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	// The SMTP listener opens before the HTTP one: wait for both.
	for _, addr := range []string{p.Addr, p.HTTP} {
		if addr == "" {
			continue
		}
		if err := postfix.WaitListening(addr, 30*time.Second, p.alive); err != nil {
			p.stop(t)
			return fmt.Errorf("%w; log:\n%s", err, p.logTail(30))
		}
	}
	return nil
}

func (p *posthorn) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits for a clean exit (status 0) and kills the
// process if it does not come within 60 s. Safe to call twice.
func (p *posthorn) stop(t testing.TB) {
	t.Helper()
	if p.cmd == nil || p.done == nil || p.stopped {
		return
	}
	p.stopped = true
	if p.alive() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("posthorn did not exit within 60s of SIGTERM; log:\n%s", p.logTail(30))
		return
	}
	if p.waitErr != nil {
		t.Errorf("posthorn serve exited with %v, want status 0 after SIGTERM; log:\n%s", p.waitErr, p.logTail(30))
	} else if t.Failed() {
		t.Logf("posthorn log tail:\n%s", p.logTail(40))
	}
}

func (p *posthorn) logTail(n int) string {
	return testutil.TailFile(p.LogFile, n)
}

// run runs a posthorn subcommand with p's config and stdin, bounded to 60 s.
func (p *posthorn) run(stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// sendmail runs "posthorn sendmail --config F -i RCPT..." with msg on stdin
// and fails the test unless it exits 0 (durably queued).
func (p *posthorn) sendmail(t testing.TB, msg []byte, from string, rcpts ...string) {
	t.Helper()
	args := append([]string{"sendmail", "--config", p.Config, "-i", "-f", from}, rcpts...)
	if _, stderr, err := p.run(msg, args...); err != nil {
		t.Fatalf("posthorn %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
}

// queueRecipient and queueEntry mirror "posthorn queue list --json".
type queueRecipient struct {
	Addr      string `json:"addr"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

type queueEntry struct {
	ID          string           `json:"id"`
	From        string           `json:"from"`
	Service     string           `json:"service"`
	Size        int64            `json:"size"`
	Arrival     time.Time        `json:"arrival"`
	Held        bool             `json:"held"`
	NextAttempt time.Time        `json:"next_attempt"`
	Recipients  []queueRecipient `json:"recipients"`
}

func (p *posthorn) queue(t testing.TB) []queueEntry {
	t.Helper()
	stdout, stderr, err := p.run(nil, "queue", "list", "--config", p.Config, "--json")
	if err != nil {
		t.Fatalf("posthorn queue list: %v\n%s", err, stderr)
	}
	var entries []queueEntry
	if err := json.Unmarshal(stdout, &entries); err != nil {
		t.Fatalf("posthorn queue list --json: %v\n%s", err, stdout)
	}
	return entries
}

// waitQueueEmpty polls the queue until it is empty, failing after timeout
// with what is still queued.
func (p *posthorn) waitQueueEmpty(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q := p.queue(t)
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sample, _ := json.MarshalIndent(q[0], "", "  ")
			t.Fatalf("posthorn queue still holds %d messages after %v; first:\n%s", len(q), timeout, sample)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
