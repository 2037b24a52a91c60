package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// health is the part of GET /healthz these scenarios read.
type health struct {
	ConfigFingerprint string `json:"config_fingerprint"`
	ConfigDrift       struct {
		Differs bool   `json:"differs"`
		Reason  string `json:"reason"`
	} `json:"config_drift"`
	LastReloadError string `json:"last_reload_error"`
}

func getHealth(t *testing.T, addr string) health {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var h health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("healthz: %v\n%s", err, body)
	}
	return h
}

// waitHealth polls /healthz until ok(h), bounded.
func waitHealth(t *testing.T, p *posthorn, addr string, what string, ok func(health) bool) health {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h := getHealth(t, addr)
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never showed %s: %+v\nlog:\n%s", what, h, p.logTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *posthorn) reload(t *testing.T) (code int, stdout, stderr string) {
	t.Helper()
	out, errb, err := p.run(nil, "reload", "--config", p.Config)
	code = 0
	if err != nil {
		code = 1
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		}
	}
	return code, string(out), string(errb)
}

func sendOne(addr, subject string) error {
	return sendVia("", addr, "app@example.org", "user@example.net", "Subject: "+subject+"\r\n\r\nbody\r\n")
}

// TestReloadBrokenFileKeepsRunning: a reload of a file that does not load is
// refused, the old configuration keeps serving, and /healthz says why;
// the drift alert is on while the file differs and off after a good reload.
func TestReloadBrokenFileKeepsRunning(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Start()
	httpAddr := postfix.FreeAddr(t)
	rc := relayConfig{Upstreams: []string{up.Addr()}, HTTPListen: httpAddr,
		Extra: "\n[alerts]\ncheck_interval = \"100ms\"\n"}
	p := startPosthorn(t, rc)
	before := getHealth(t, httpAddr)
	if before.ConfigDrift.Differs || before.LastReloadError != "" {
		t.Fatalf("fresh daemon reports %+v", before)
	}

	good, err := os.ReadFile(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "[smtp]", "[smtp]\nmax_mesage_size = \"1MiB\"", 1)
	if err := os.WriteFile(p.Config, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, p, httpAddr, "drift after the file broke", func(h health) bool { return h.ConfigDrift.Differs })
	code, _, stderr := p.reload(t)
	if code != 1 || !strings.Contains(stderr, "max_mesage_size") || !strings.Contains(stderr, "running configuration stays") {
		t.Fatalf("reload of a broken file: exit %d, stderr:\n%s", code, stderr)
	}
	// SIGHUP makes the daemon itself try, and report the failure.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	h := waitHealth(t, p, httpAddr, "the failed reload", func(h health) bool { return h.LastReloadError != "" })
	if h.ConfigFingerprint != before.ConfigFingerprint || !strings.Contains(h.LastReloadError, "max_mesage_size") {
		t.Fatalf("after a refused reload: %+v", h)
	}
	if err := sendOne(p.Addr, "after a refused reload"); err != nil {
		t.Fatalf("SMTP after a refused reload: %v", err)
	}
	up.Wait(t, 1, 15*time.Second)

	// A good change: drift on, then off after the reload.
	dir := filepath.Dir(p.Config)
	rc.Hostname = "relay2.test"
	writeConfig(t, dir, p.Addr, rc)
	waitHealth(t, p, httpAddr, "drift after a valid change", func(h health) bool {
		return h.ConfigDrift.Differs && strings.Contains(h.ConfigDrift.Reason, "differs")
	})
	out, _, err := p.run(nil, "check", "--diff", "--config", p.Config)
	if err == nil || !strings.Contains(string(out), "-hostname = 'relay.test'") || !strings.Contains(string(out), "+hostname = 'relay2.test'") {
		t.Fatalf("check --diff before the reload (err %v):\n%s", err, out)
	}
	if code, stdout, stderr := p.reload(t); code != 0 || !strings.Contains(stdout, "reloaded") {
		t.Fatalf("reload: exit %d\n%s%s", code, stdout, stderr)
	}
	h = waitHealth(t, p, httpAddr, "no drift after the reload", func(h health) bool { return !h.ConfigDrift.Differs })
	if h.ConfigFingerprint == before.ConfigFingerprint || h.LastReloadError != "" {
		t.Fatalf("after a good reload: %+v", h)
	}
	if out, _, err := p.run(nil, "check", "--diff", "--config", p.Config); err != nil || !strings.Contains(string(out), "running configuration is the file") {
		t.Fatalf("check --diff after the reload (err %v):\n%s", err, out)
	}
	if g := smtpGreeting(t, p.Addr); !strings.Contains(g, "relay2.test") {
		t.Fatalf("greeting after reload %q, want the new hostname", g)
	}
}

func smtpGreeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	return string(buf[:n])
}

// TestReloadDuringLoad: reloads (SIGHUP) that move delivery from one
// upstream to the other, made while clients keep sending, fail no session
// and lose no message.
func TestReloadDuringLoad(t *testing.T) {
	t.Parallel()
	a, b := testutil.NewUpstream(t), testutil.NewUpstream(t)
	a.Start()
	b.Start()
	rc := relayConfig{Upstreams: []string{a.Addr()}}
	p := startPosthorn(t, rc)
	dir := filepath.Dir(p.Config)

	// Clients send until told to stop (at most maxPerClient each).
	const clients, maxPerClient = 4, 1000
	stop := make(chan struct{})
	var mu sync.Mutex
	var sent []string
	var failures []error
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPerClient {
				select {
				case <-stop:
					return
				default:
				}
				subject := fmt.Sprintf("load %d-%d", c, i)
				err := sendOne(p.Addr, subject)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Errorf("%s: %w", subject, err))
				} else {
					sent = append(sent, subject)
				}
				mu.Unlock()
			}
		}()
	}
	// One session opened before the reloads sends its message after them.
	long, err := smtp.Dial(p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	if err := long.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	// Each reload happens once the current upstream has taken more mail:
	// A → B → A → B, driven by progress, not by time.
	ups := []*testutil.Upstream{a, b}
	for i := range 4 {
		cur, next := ups[i%2], ups[(i+1)%2]
		cur.Wait(t, len(cur.Messages())+5, 30*time.Second)
		rc.Upstreams = []string{next.Addr()}
		writeConfig(t, dir, p.Addr, rc)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	if err := long.Mail("app@example.org", nil); err != nil {
		t.Fatalf("session opened before the reloads: %v", err)
	}
	if err := long.Rcpt("user@example.net", nil); err != nil {
		t.Fatalf("session opened before the reloads: %v", err)
	}
	w, err := long.Data()
	if err != nil {
		t.Fatalf("session opened before the reloads: %v", err)
	}
	fmt.Fprintf(w, "Subject: long session\r\n\r\nbody\r\n")
	if err := w.Close(); err != nil {
		t.Fatalf("session opened before the reloads: %v", err)
	}
	long.Quit()
	mu.Lock()
	sent = append(sent, "long session")
	mu.Unlock()
	// After four reloads delivery is back on A; let it take more too.
	a.Wait(t, len(a.Messages())+5, 30*time.Second)
	close(stop)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("session failed during reloads: %v", err)
	}
	p.waitQueueEmpty(t, 60*time.Second)
	got := map[string]bool{}
	for _, up := range ups {
		for _, m := range up.Messages() {
			for _, line := range strings.Split(string(m.Data), "\r\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok {
					got[s] = true
				}
			}
		}
	}
	for _, s := range sent {
		if !got[s] {
			t.Errorf("message %q got a 250 and was never delivered", s)
		}
	}
	if n := strings.Count(testutil.TailFile(p.LogFile, 100000), "configuration reloaded"); n != 4 {
		t.Errorf("%d reloads logged, want 4:\n%s", n, p.logTail(30))
	}
	t.Logf("%d messages sent during 4 reloads: %d via A, %d via B", len(sent), len(a.Messages()), len(b.Messages()))
}

// TestReloadMovesListener: a reload that changes smtp.listen opens the new
// address and closes the old one; mail queued before is delivered.
func TestReloadMovesListener(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Start()
	rc := relayConfig{Upstreams: []string{up.Addr()}}
	p := startPosthorn(t, rc)
	if err := sendOne(p.Addr, "before"); err != nil {
		t.Fatal(err)
	}
	newAddr := postfix.FreeAddr(t)
	writeConfig(t, filepath.Dir(p.Config), newAddr, rc)
	if code, out, errb := p.reload(t); code != 0 {
		t.Fatalf("reload: exit %d\n%s%s", code, out, errb)
	}
	if err := sendOne(newAddr, "after"); err != nil {
		t.Fatalf("new listener: %v", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr, 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("old listener %s still accepts after the reload", p.Addr)
	}
	up.Wait(t, 2, 15*time.Second)
}

// TestReloadRefusedByConfigTest: a file whose own [[test]] fails is not
// applied.
func TestReloadRefusedByConfigTest(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Start()
	rc := relayConfig{Upstreams: []string{up.Addr()}}
	p := startPosthorn(t, rc)
	rc.Hostname = "changed.test"
	rc.Extra = "\n[[test]]\nname = \"local apps may not relay\"\nto = [\"x@example.net\"]\nexpect = \"refused\"\n"
	writeConfig(t, filepath.Dir(p.Config), p.Addr, rc)
	code, _, stderr := p.reload(t)
	if code != 1 || !strings.Contains(stderr, "local apps may not relay") || !strings.Contains(stderr, "running configuration stays") {
		t.Fatalf("reload with a failing config test: exit %d, stderr:\n%s", code, stderr)
	}
	if g := smtpGreeting(t, p.Addr); !strings.Contains(g, "relay.test") || strings.Contains(g, "changed.test") {
		t.Fatalf("greeting %q: the refused configuration was applied", g)
	}
}
