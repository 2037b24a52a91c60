package crash

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/testutil"
)

const (
	buildTimeout = 5 * time.Minute
	readyTimeout = 10 * time.Second // serve start until the SMTP port accepts
	exitTimeout  = 20 * time.Second // SIGTERM (or SIGKILL) until the process is gone
	toolTimeout  = 20 * time.Second // one "posthorn queue list" run
	concurrency  = 8                // delivery.concurrency in the test config
)

// posthornBinary returns POSTHORN_BIN, or builds ./cmd/posthorn from the
// module root into a directory removed when t ends.
func posthornBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("POSTHORN_BIN"); bin != "" {
		return bin
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not in PATH: %v", err)
	}
	out := filepath.Join(t.TempDir(), "posthorn")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/posthorn")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/posthorn: %v\n%s", err, msg)
	}
	return out
}

// moduleRoot walks up from the working directory to the one with go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.mod above the test's working directory")
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// daemon is one posthorn configuration (SMTP address, data_dir) that the
// test starts, kills and restarts.
type daemon struct {
	bin     string
	dir     string // holds the config, data_dir and one log file per run
	config  string
	dataDir string
	addr    string
	runs    int
}

// newDaemon writes the config file for a daemon relaying to upstream.
func newDaemon(t *testing.T, bin, upstream, spoolSync string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{bin: bin, dir: dir, dataDir: filepath.Join(dir, "data"), addr: freeAddr(t),
		config: filepath.Join(dir, "posthorn.toml")}
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = %q\ndata_dir = %q\n", "relay.test", d.dataDir)
	if spoolSync != "" {
		fmt.Fprintf(&b, "spool_sync = %q\n", spoolSync)
	}
	fmt.Fprintf(&b, "\n[smtp]\nlisten = [%q]\ntrusted_networks = [\"127.0.0.0/8\"]\n", d.addr)
	b.WriteString("\n[http]\nlisten = \"\"\n")
	fmt.Fprintf(&b, "\n[delivery]\nupstreams = [%q]\n", upstream)
	b.WriteString("retry_schedule = [\"1s\"]\ntls = \"none\"\n")
	fmt.Fprintf(&b, "concurrency = %d\n", concurrency)
	b.WriteString("connect_timeout = \"2s\"\ncommand_timeout = \"5s\"\ndata_timeout = \"5s\"\n")
	b.WriteString("down_backoff = \"200ms\"\ndown_backoff_max = \"1s\"\nshutdown_grace = \"10s\"\n")
	if err := os.WriteFile(d.config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// proc is one run of "posthorn serve".
type proc struct {
	cmd  *exec.Cmd
	log  string // its stderr
	done chan struct{}
	err  error // exit status; valid once done is closed
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// start runs "posthorn serve" and waits until the SMTP port accepts
// connections. t.Cleanup kills the process if it is still running.
func (d *daemon) start(t *testing.T) *proc {
	t.Helper()
	d.runs++
	p := &proc{log: filepath.Join(d.dir, fmt.Sprintf("serve-%d.log", d.runs)), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(d.bin, "serve", "--config", d.config)
	p.cmd.Stdout = logf
	p.cmd.Stderr = logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting posthorn serve: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.alive() {
			_ = p.cmd.Process.Kill()
		}
		<-p.done // Kill cannot be ignored; Wait returns once it is reaped
	})
	deadline := time.Now().Add(readyTimeout)
	for attempt := 0; ; attempt++ {
		if !p.alive() {
			t.Fatalf("posthorn serve exited during start-up (%v); log:\n%s", p.err, tail(p.log, 30))
		}
		c, err := net.DialTimeout("tcp", d.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) || attempt > 1000 {
			t.Fatalf("posthorn serve: %s not accepting after %v: %v; log:\n%s", d.addr, readyTimeout, err, tail(p.log, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if !p.alive() {
		t.Fatalf("posthorn died before the kill (%v); log:\n%s", p.err, tail(p.log, 30))
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		t.Fatalf("posthorn still running %v after SIGKILL", exitTimeout)
	}
}

// term sends SIGTERM and checks that the daemon drains and exits 0.
func (p *proc) term(t *testing.T) {
	t.Helper()
	if !p.alive() {
		t.Fatalf("posthorn died before SIGTERM (%v); log:\n%s", p.err, tail(p.log, 30))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("posthorn did not exit within %v of SIGTERM; log:\n%s", exitTimeout, tail(p.log, 30))
	}
	if p.err != nil {
		t.Fatalf("posthorn serve exited with %v after SIGTERM, want status 0; log:\n%s", p.err, tail(p.log, 30))
	}
}

// queueList runs "posthorn queue list --json": through the control socket
// while the daemon runs, from the spool files when it is stopped.
func (d *daemon) queueList(t *testing.T) []json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, "queue", "list", "--config", d.config, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("posthorn queue list --json: %v\n%s", err, stderr.Bytes())
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil {
		t.Fatalf("posthorn queue list --json: %v\n%s", err, stdout.Bytes())
	}
	return entries
}

// waitQueueEmpty polls queueList until it is empty.
func (d *daemon) waitQueueEmpty(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for attempt := 0; ; attempt++ {
		q := d.queueList(t)
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) || attempt > 1000 {
			t.Fatalf("queue still holds %d messages after %v; first: %s", len(q), timeout, q[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkSpoolDirs fails t if anything was quarantined, or if a committed
// message file is left in the queue directory of a stopped daemon with an
// empty queue. Leftover temporary files are only logged.
func (d *daemon) checkSpoolDirs(t *testing.T) {
	t.Helper()
	q, err := os.ReadDir(filepath.Join(d.dataDir, "quarantine"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range q {
		t.Errorf("quarantined spool file %s", e.Name())
	}
	files, err := os.ReadDir(filepath.Join(d.dataDir, "queue"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range files {
		if e.Name() == "journal" && e.IsDir() {
			d.checkJournal(t)
			continue
		}
		if strings.HasPrefix(e.Name(), "tmp-") {
			t.Logf("temporary spool file left after a clean stop: %s", e.Name())
			continue
		}
		t.Errorf("spool file %s left in the queue directory although the queue is empty", e.Name())
	}
}

// checkJournal fails t if the journal of a stopped daemon with an empty
// queue still holds a message, or cannot be read.
func (d *daemon) checkJournal(t *testing.T) {
	t.Helper()
	st, err := spool.Open(filepath.Join(d.dataDir, "queue"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Scan(false, func(r spool.ScanResult) {
		t.Errorf("journal holds %s although the queue is empty (error: %v)", r.ID, r.Err)
	}); err != nil {
		t.Fatal(err)
	}
}

// logEntry is the part of a JSON log line the test reads.
type logEntry struct {
	Level    string `json:"level"`
	Msg      string `json:"msg"`
	Messages *int   `json:"messages"`
	Corrupt  *int   `json:"corrupt"`
	File     string `json:"file"`
}

// recovery returns what the "spool recovered" line of a run's log says.
func recovery(t *testing.T, logPath string) (messages, corrupt int) {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e logEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Msg != "spool recovered" {
			continue
		}
		if e.Messages == nil || e.Corrupt == nil {
			t.Fatalf("%s: spool recovered line without messages/corrupt: %s", logPath, sc.Bytes())
		}
		return *e.Messages, *e.Corrupt
	}
	t.Fatalf("%s: no \"spool recovered\" line; log:\n%s", logPath, tail(logPath, 30))
	return 0, 0
}

// grepLog returns up to max lines of the log files that contain s.
func grepLog(paths []string, s string, max int) []string {
	var out []string
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(raw), "\n") {
			if strings.Contains(line, s) {
				out = append(out, filepath.Base(p)+": "+line)
				if len(out) >= max {
					return out
				}
			}
		}
	}
	return out
}

// tail returns the last n lines of a file.
// grepFile returns the lines of path that contain sub.
func grepFile(path, sub string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tail(path string, n int) string {
	return testutil.TailFile(path, n)
}
