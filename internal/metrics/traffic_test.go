package metrics

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/smtp"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/testutil"
)

// relay is a running Posthorn: SMTP listener, queue and courier, wired to
// one scripted upstream, with the metrics as a mail log sink.
type relay struct {
	smtpAddr string
	q        *queue.Queue
	m        *Metrics
	reg      *prometheus.Registry
}

func startRelay(t *testing.T, upstream string, loaded time.Time) *relay {
	t.Helper()
	dir := t.TempDir()
	store, err := spool.Open(filepath.Join(dir, "queue"), filepath.Join(dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := courier.New(courier.Options{
		Hostname:       "relay.test",
		Upstreams:      []courier.Upstream{{Addr: upstream, TLS: courier.TLSNone}},
		ConnectTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second, DataTimeout: 2 * time.Second,
		DownBackoff: 20 * time.Millisecond, DownBackoffMax: 50 * time.Millisecond,
	})
	mlog := maillog.New(nil)
	q := queue.New(queue.Options{
		Store: store, Courier: c, Hostname: "relay.test",
		RetrySchedule: []time.Duration{30 * time.Millisecond}, MaxLifetime: time.Hour, Concurrency: 4,
		Jitter: func(d time.Duration) time.Duration { return d }, MailLog: mlog,
	})
	reg := prometheus.NewRegistry()
	m, err := New(reg, Sources{
		Queue:     q.Stats,
		Upstreams: c.Status,
		Config:    func() (string, time.Time) { return "cafe01", loaded },
		Drift:     func() bool { return false },
		Version:   "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	mlog.AddSink(m)
	if _, _, err := q.Recover(); err != nil {
		t.Fatal(err)
	}
	srv := smtpd.New(smtpd.Options{
		Hostname:        "relay.test",
		TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Services:        []smtpd.Service{{Name: "A", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		MaxMessageSize:  1 << 20, MaxRecipients: 10, MaxConnections: 10,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		Spool: q, MailLog: mlog,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); q.Run(ctx, ctx) }()
	go func() { defer wg.Done(); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
		wg.Wait()
		c.Close()
		store.Close()
	})
	return &relay{smtpAddr: ln.Addr().String(), q: q, m: m, reg: reg}
}

// send submits one message over its own SMTP session; bad recipients are
// tried first and must be refused.
func (r *relay) send(t *testing.T, from string, bad []string, rcpts ...string) {
	t.Helper()
	c, err := smtp.Dial(r.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		if err := c.Rcpt(b); err == nil {
			t.Fatalf("RCPT %q accepted", b)
		}
	}
	for _, rc := range rcpts {
		if err := c.Rcpt(rc); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: metrics test\r\n\r\nHello.\r\n", from, rcpts[0])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// waitDrained waits (bounded) until the queue is empty.
func (r *relay) waitDrained(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.q.Len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v", r.q.List())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestScriptedTraffic runs three messages from service A through a real
// listener, queue and courier: one delivered at once, one deferred by a 451
// then delivered on retry, one with a second recipient the upstream refuses
// (a bounce goes back to the sender). One session also tries a percent-hack
// recipient first.
func TestScriptedTraffic(t *testing.T) {
	t.Parallel()
	// net/smtp declares SMTPUTF8 whenever the server offers it, and the
	// courier then requires it from the upstream.
	up := testutil.NewUpstream(t, testutil.WithSMTPUTF8())
	var refusedOnce atomic.Bool
	up.SetScript(testutil.Script{Rcpt: func(rcpt string) error {
		switch {
		case rcpt == "later@example.net" && refusedOnce.CompareAndSwap(false, true):
			return smtperr.New(451, [3]int{4, 3, 0}, "try again later")
		case rcpt == "nobody@example.net":
			return smtperr.New(550, [3]int{5, 1, 1}, "no such user")
		}
		return nil
	}})
	loaded := time.Unix(1_700_000_000, 0)
	r := startRelay(t, up.Addr(), loaded)

	r.send(t, "app@a.example.org", []string{"user%other.example@example.net"}, "one@example.net")
	r.send(t, "app@a.example.org", nil, "later@example.net")
	r.send(t, "app@a.example.org", nil, "three@example.net", "nobody@example.net")
	// one@, later@ (after the retry), three@ and the bounce to app@.
	up.Wait(t, 4, 10*time.Second)
	r.waitDrained(t)

	m, ups := r.m, up.Addr()
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"sessions A", m.sessions.WithLabelValues("A"), 3},
		{"accepted A", m.accepted.WithLabelValues("A"), 3},
		{"recipients accepted A", m.acceptedRcpts.WithLabelValues("A"), 4},
		{"delivered A", m.delivered.WithLabelValues("A", ups), 3},
		{"deferred A", m.deferred.WithLabelValues("A", ups), 1},
		{"bounced A", m.bounced.WithLabelValues("A", ups), 1},
		{"delivered bounce notice", m.delivered.WithLabelValues("posthorn", ups), 1},
		{"bounce notices", m.notices.WithLabelValues("bounce"), 1},
		{"rejected rcpt", m.rejected.WithLabelValues("rcpt"), 1},
	}
	for _, c := range checks {
		if got := promtest.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// Nothing else was counted: one series per counter above, no errors.
	for _, c := range []struct {
		name string
		c    prometheus.Collector
		want int
	}{
		{"sessions", m.sessions, 1}, {"accepted", m.accepted, 1}, {"delivered", m.delivered, 2},
		{"deferred", m.deferred, 1}, {"bounced", m.bounced, 1}, {"notices", m.notices, 1},
		{"rejected", m.rejected, 1}, {"errors", m.errors, 0},
	} {
		if n := promtest.CollectAndCount(c.c); n != c.want {
			t.Errorf("%s has %d series, want %d", c.name, n, c.want)
		}
	}

	gauges := fmt.Sprintf(`
# HELP posthorn_queue_messages Messages in the queue: fresh, waiting for a retry, held or in flight.
# TYPE posthorn_queue_messages gauge
posthorn_queue_messages 0
# HELP posthorn_upstream_consecutive_failures Failed attempts through the relay since its last success.
# TYPE posthorn_upstream_consecutive_failures gauge
posthorn_upstream_consecutive_failures{upstream=%[1]q} 0
# HELP posthorn_upstream_up 1 when the relay's last attempt succeeded (or there was none), 0 while it is marked down.
# TYPE posthorn_upstream_up gauge
posthorn_upstream_up{upstream=%[1]q} 1
`, ups)
	if err := promtest.GatherAndCompare(r.reg, strings.NewReader(gauges),
		"posthorn_queue_messages", "posthorn_upstream_up", "posthorn_upstream_consecutive_failures"); err != nil {
		t.Error(err)
	}

	text := scrape(t, r.reg)
	for _, want := range []string{
		`posthorn_delivery_latency_seconds_bucket{service="A",le="432000"} 3`,
		`posthorn_delivery_latency_seconds_count{service="A"} 3`,
		`posthorn_delivery_latency_seconds_count{service="posthorn"} 1`,
		"# TYPE posthorn_delivery_latency_seconds histogram",
		`posthorn_config_info{fingerprint="cafe01"} 1`,
		"posthorn_config_loaded_timestamp_seconds 1.7e+09",
		"posthorn_config_drift 0",
		`posthorn_build_info{goversion="go`,
		`posthorn_messages_accepted_total{service="A"} 3`,
		`posthorn_service_last_accepted_timestamp_seconds{service="A"} 1.`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	// Mail addresses and the client never become label values.
	for _, never := range []string{"example.net", "example.org", "client.test"} {
		if strings.Contains(text, never) {
			t.Errorf("scrape has %q in a label", never)
		}
	}
}

// scrape fetches the registry's text exposition over HTTP, as Prometheus
// would.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body)
}
