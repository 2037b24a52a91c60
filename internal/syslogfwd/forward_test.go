package syslogfwd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

var _ slog.Handler = (*handler)(nil)

func testOptions(addr string) Options {
	return Options{
		Address:      addr,
		Facility:     "mail",
		AppName:      "posthorn",
		Hostname:     "mx1.example.org",
		ProcID:       "4242",
		Buffer:       100,
		ReconnectMin: 5 * time.Millisecond,
		ReconnectMax: 50 * time.Millisecond,
		FlushTimeout: time.Second,
	}
}

var tsRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

func TestFormatOverTCP(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	f := New(testOptions(col.addr()))
	start(t, f)
	var stderr lines
	logger := slog.New(f.Handler(slog.NewJSONHandler(&stderr, nil)))
	mail := logger.With(slog.String("log", "mail"))

	mail.Info("accepted", slog.String("queue_id", "Q1"), slog.String("service", "gerrit"), slog.Int("size", 1234))
	logger.Debug("not logged at info")
	logger.Warn("disk slow", slog.String("path", "/var/spool"))
	mail.With(slog.String("queue_id", "Q2")).Error("error", slog.String("stage", "spool"))
	logger.WithGroup("g").Info("grouped", slog.String("queue_id", "Q3"), slog.String("k", "v"))

	msgs := col.wait(t, 4)
	json := stderr.get()
	if len(json) != 4 {
		t.Fatalf("stderr has %d records, want 4: %q", len(json), json)
	}
	want := []struct {
		pri   int
		msgid string
		sd    map[string]string
		body  map[string]any
	}{
		{2*8 + 6, "mail", map[string]string{"queue_id": "Q1", "service": "gerrit"},
			map[string]any{"msg": "accepted", "level": "INFO", "log": "mail", "size": 1234.0}},
		{2*8 + 4, "-", nil, map[string]any{"msg": "disk slow", "level": "WARN", "path": "/var/spool"}},
		{2*8 + 3, "mail", map[string]string{"queue_id": "Q2"},
			map[string]any{"msg": "error", "level": "ERROR", "log": "mail", "queue_id": "Q2", "stage": "spool"}},
		{2*8 + 6, "-", nil, map[string]any{"msg": "grouped", "g": map[string]any{"queue_id": "Q3", "k": "v"}}},
	}
	for i, w := range want {
		m := parse(t, msgs[i])
		if m.pri != w.pri || m.version != 1 || m.host != "mx1.example.org" || m.app != "posthorn" ||
			m.procid != "4242" || m.msgid != w.msgid {
			t.Errorf("message %d header = %+v, want PRI %d, VERSION 1, MSGID %s", i, m, w.pri, w.msgid)
		}
		if !tsRE.MatchString(m.ts) {
			t.Errorf("message %d TIMESTAMP %q is not RFC 3339 UTC with microseconds", i, m.ts)
		}
		if w.sd == nil {
			if m.sd != "-" {
				t.Errorf("message %d SD = %q, want -", i, m.sd)
			}
		} else if got := sdParams(t, m.sd, "posthorn@32473"); fmt.Sprint(got) != fmt.Sprint(w.sd) {
			t.Errorf("message %d SD params = %v, want %v", i, got, w.sd)
		}
		// The body is exactly what the JSON handler wrote to stderr.
		if m.msg != json[i] {
			t.Errorf("message %d body\n%s\nstderr\n%s", i, m.msg, json[i])
		}
		var body map[string]any
		if err := jsonUnmarshal(m.msg, &body); err != nil {
			t.Fatalf("message %d body is not JSON: %v", i, err)
		}
		for k, v := range w.body {
			if fmt.Sprint(body[k]) != fmt.Sprint(v) {
				t.Errorf("message %d body[%s] = %v, want %v", i, k, body[k], v)
			}
		}
		bt, err := time.Parse(time.RFC3339Nano, fmt.Sprint(body["time"]))
		ht, err2 := time.Parse(time.RFC3339Nano, m.ts)
		if err != nil || err2 != nil || !bt.Truncate(time.Microsecond).Equal(ht) {
			t.Errorf("message %d TIMESTAMP %s does not match body time %v", i, m.ts, body["time"])
		}
	}
	if f.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", f.Dropped())
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestTLS(t *testing.T) {
	t.Parallel()
	srv, pool := testutil.SelfSignedTLS(t)
	col := newCollector(t, srv, false)
	o := testOptions(col.addr())
	o.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	o.Facility = "local3"
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	logger.Info("over tls", slog.String("service", `svc "x"`))
	m := parse(t, col.wait(t, 1)[0])
	if m.pri != 19*8+6 {
		t.Errorf("PRI = %d, want %d (local3.info)", m.pri, 19*8+6)
	}
	if p := sdParams(t, m.sd, "posthorn@32473"); p["service"] != `svc "x"` || len(p) != 1 {
		t.Errorf("SD params = %v", p)
	}
	if !strings.Contains(m.msg, `"msg":"over tls"`) {
		t.Errorf("body = %s", m.msg)
	}
	if !f.Connected() {
		t.Error("Connected = false after a delivery")
	}
}

func TestTLSUntrustedCollector(t *testing.T) {
	t.Parallel()
	srv, _ := testutil.SelfSignedTLS(t)
	col := newCollector(t, srv, false)
	errs := &counting{}
	o := testOptions(col.addr())
	o.TLS = &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	o.Logger = slog.New(errs)
	o.ErrorInterval = time.Hour
	f := New(o)
	start(t, f)
	slog.New(f.Handler(slog.DiscardHandler)).Info("never sent")
	waitFor(t, "an error log", func() bool { return errs.count() > 0 })
	if f.Connected() || col.count() != 0 {
		t.Errorf("Connected = %v, collector got %d: want no connection to an untrusted collector", f.Connected(), col.count())
	}
}

// switchDial dials whichever collector addr points at, or fails when it
// is empty, and counts attempts.
type switchDial struct {
	addr  atomic.Pointer[string]
	tries atomic.Int64
}

func (d *switchDial) set(a string) { d.addr.Store(&a) }

func (d *switchDial) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	d.tries.Add(1)
	a := d.addr.Load()
	if a == nil || *a == "" {
		return nil, errors.New("collector is down")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, *a)
}

func TestReconnectResendsBuffered(t *testing.T) {
	t.Parallel()
	var d switchDial
	first := newCollector(t, nil, false)
	d.set(first.addr())
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	// A discarding next handler enables nothing: forward at Info anyway.
	o.Level = slog.LevelInfo
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.DiscardHandler))

	for i := range 3 {
		logger.Info("before", slog.Int("n", i))
	}
	first.wait(t, 3)
	d.set("")
	first.stop()
	waitFor(t, "the forwarder to notice the collector left", func() bool { return !f.Connected() })
	for i := range 5 {
		logger.Info("while away", slog.Int("n", i))
	}
	second := newCollector(t, nil, false)
	d.set(second.addr())
	msgs := second.wait(t, 5)
	for i, s := range msgs {
		if m := parse(t, s); !strings.Contains(m.msg, fmt.Sprintf(`"msg":"while away","n":%d}`, i)) {
			t.Errorf("message %d after reconnect = %s", i, m.msg)
		}
	}
	if f.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", f.Dropped())
	}
}

func TestBufferOverflowDropsOldest(t *testing.T) {
	t.Parallel()
	var d switchDial
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	o.Buffer = 10
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	for i := range 25 {
		logger.Info("queued", slog.Int("n", i))
	}
	if f.Dropped() != 15 || f.Queued() != 10 {
		t.Fatalf("Dropped = %d, Queued = %d; want 15 and 10", f.Dropped(), f.Queued())
	}
	waitFor(t, "a failed dial", func() bool { return d.tries.Load() > 0 })
	col := newCollector(t, nil, false)
	d.set(col.addr())
	msgs := col.wait(t, 10)
	for i, s := range msgs {
		if m := parse(t, s); !strings.Contains(m.msg, fmt.Sprintf(`"n":%d}`, 15+i)) {
			t.Errorf("message %d = %s, want record %d (the oldest are dropped)", i, m.msg, 15+i)
		}
	}
}

// TestNeverBlocks logs 100k records while the collector accepts but never
// reads, so the socket buffers fill and the forwarder's write blocks. Every
// logging call must still return.
func TestNeverBlocks(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, true)
	o := testOptions(col.addr())
	o.Buffer = 1000
	o.FlushTimeout = 100 * time.Millisecond
	f := New(o)
	start(t, f)
	next := &counting{}
	logger := slog.New(f.Handler(next)).With(slog.String("log", "mail"))
	pad := strings.Repeat("x", 500)
	const n = 100_000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			logger.Info("accepted", slog.String("queue_id", "Q"), slog.Int("n", i), slog.String("pad", pad))
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("logging blocked: %d of %d Handle calls returned", next.count(), n)
	}
	if next.count() != n {
		t.Errorf("next handler got %d records, want %d", next.count(), n)
	}
	if f.Dropped() == 0 {
		t.Error("Dropped = 0, yet 50 MB were logged to a collector that reads nothing")
	}
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return while the collector was stuck")
	}
}

func TestMailOnly(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	o := testOptions(col.addr())
	o.MailOnly = true
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	mail := logger.With(slog.String("log", "mail"))
	logger.Info("process record")
	mail.Info("accepted", slog.String("queue_id", "A"))
	logger.Info("per-record mail attribute", slog.String("log", "mail"), slog.String("queue_id", "B"))
	logger.Info("another process record", slog.String("log", "http"))
	mail.Info("delivered", slog.String("queue_id", "C"))
	msgs := col.wait(t, 3)
	for i, id := range []string{"A", "B", "C"} {
		m := parse(t, msgs[i])
		if m.msgid != "mail" || sdParams(t, m.sd, "posthorn@32473")["queue_id"] != id {
			t.Errorf("message %d: MSGID %s SD %s, want mail and queue_id %s", i, m.msgid, m.sd, id)
		}
	}
}

func TestSDEscaping(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	f := New(testOptions(col.addr()))
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	id := `a"b\c]d[e=f g`
	svc := "bad\xffutf8 ü"
	logger.Info("escape", slog.String("queue_id", id), slog.String("service", svc))
	m := parse(t, col.wait(t, 1)[0])
	want := `[posthorn@32473 queue_id="a\"b\\c\]d[e=f g" service="bad` + "\uFFFD" + `utf8 ü"]`
	if m.sd != want {
		t.Errorf("SD = %s\nwant %s", m.sd, want)
	}
	if p := sdParams(t, m.sd, "posthorn@32473"); p["queue_id"] != id {
		t.Errorf("queue_id unescaped = %q, want %q", p["queue_id"], id)
	}
	if !strings.Contains(m.msg, `"msg":"escape"`) {
		t.Errorf("MSG = %s", m.msg)
	}
}

func TestHeaderFieldLimits(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	o := testOptions(col.addr())
	o.Hostname = "bad host\n" + strings.Repeat("h", 300)
	o.AppName = strings.Repeat("a", 60)
	o.Facility = "no-such-facility"
	errs := &counting{}
	o.Logger = slog.New(errs)
	f := New(o)
	if errs.count() != 1 {
		t.Errorf("unknown facility logged %d warnings, want 1", errs.count())
	}
	start(t, f)
	slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil))).Error("x")
	m := parse(t, col.wait(t, 1)[0])
	if len(m.host) != 255 || !strings.HasPrefix(m.host, "bad_host_hhh") {
		t.Errorf("HOSTNAME = %q (%d), want 255 printable characters", m.host, len(m.host))
	}
	if m.app != strings.Repeat("a", 48) {
		t.Errorf("APP-NAME = %q, want 48 characters", m.app)
	}
	if m.pri != 2*8+3 {
		t.Errorf("PRI = %d, want mail.err %d", m.pri, 2*8+3)
	}
}

func TestFacilities(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int{"user": 1, "mail": 2, "daemon": 3, "local0": 16, "local7": 23} {
		if got, ok := facilityCode(name); !ok || got != want {
			t.Errorf("facilityCode(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, bad := range []string{"", "local8", "kern9", "LOCAL0"} {
		if _, ok := facilityCode(bad); ok {
			t.Errorf("facilityCode(%q) accepted", bad)
		}
	}
	for l, want := range map[slog.Level]int{slog.LevelDebug: 7, slog.LevelInfo: 6, slog.LevelInfo + 2: 6,
		slog.LevelWarn: 4, slog.LevelError: 3, slog.LevelError + 4: 3} {
		if got := severity(l); got != want {
			t.Errorf("severity(%v) = %d, want %d", l, got, want)
		}
	}
}

// TestFlushOnStop: records queued before Run are written when Run's
// context has already ended, within the flush.
func TestFlushOnStop(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	f := New(testOptions(col.addr()))
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	for i := range 50 {
		logger.Info("queued", slog.Int("n", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 50)
	if f.Dropped() != 0 || f.Queued() != 0 {
		t.Errorf("Dropped = %d, Queued = %d; want 0 and 0", f.Dropped(), f.Queued())
	}
	logger.Info("after stop")
	if f.Dropped() != 1 {
		t.Errorf("Dropped = %d after logging to a stopped forwarder, want 1", f.Dropped())
	}
	if err := f.Run(context.Background()); err == nil {
		t.Error("second Run returned nil")
	}
	f.Close()
}

// TestFlushUnreachable: when the collector cannot be reached at shutdown,
// what is queued counts as dropped and Run still returns.
func TestFlushUnreachable(t *testing.T) {
	t.Parallel()
	var d switchDial
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	for range 7 {
		logger.Info("lost")
	}
	waitFor(t, "a failed dial", func() bool { return d.tries.Load() > 0 })
	f.Close()
	if f.Dropped() != 7 || f.Queued() != 0 {
		t.Errorf("Dropped = %d, Queued = %d; want 7 and 0", f.Dropped(), f.Queued())
	}
}

func TestErrorLogRateLimited(t *testing.T) {
	t.Parallel()
	var d switchDial
	errs := &counting{}
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	o.ReconnectMin, o.ReconnectMax = time.Millisecond, time.Millisecond
	o.ErrorInterval = time.Hour
	o.Logger = slog.New(errs)
	f := New(o)
	start(t, f)
	waitFor(t, "20 dial attempts", func() bool { return d.tries.Load() >= 20 })
	if errs.count() != 1 {
		t.Errorf("%d error logs for %d failed dials, want 1 per interval", errs.count(), d.tries.Load())
	}
}

func TestLevelOption(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	o := testOptions(col.addr())
	o.Level = slog.LevelDebug
	f := New(o)
	start(t, f)
	var stderr lines
	logger := slog.New(f.Handler(slog.NewJSONHandler(&stderr, nil)))
	logger.Debug("debug only forwarded")
	m := parse(t, col.wait(t, 1)[0])
	if m.pri != 2*8+7 || !strings.Contains(m.msg, `"level":"DEBUG"`) {
		t.Errorf("PRI %d MSG %s, want a mail.debug record", m.pri, m.msg)
	}
	if got := stderr.get(); len(got) != 1 || got[0] != "" {
		t.Errorf("the next handler (at info) wrote %q", got)
	}
}

func TestCloseWithoutRun(t *testing.T) {
	t.Parallel()
	f := New(Options{Address: "127.0.0.1:1"})
	logger := slog.New(f.Handler(&counting{}))
	logger.Error("queued, then dropped by Close")
	f.Close()
	f.Close()
	logger.Error("dropped")
	if f.Dropped() != 2 || f.Queued() != 0 {
		t.Errorf("Dropped = %d, Queued = %d; want 2 and 0", f.Dropped(), f.Queued())
	}
}

// TestWriteTimeoutResends: the first collector stops reading, so a write
// times out part-way; the forwarder reconnects to a second collector and
// writes the failed batch again. Every record arrives at one of the two
// (the first one's buffered bytes are read once it is released).
func TestWriteTimeoutResends(t *testing.T) {
	t.Parallel()
	var d switchDial
	stuck := newCollector(t, nil, true)
	d.set(stuck.addr())
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	o.Timeout = 300 * time.Millisecond
	const n = 20_000
	o.Buffer = n
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(&counting{}))
	waitFor(t, "a connection to the stuck collector", f.Connected)
	pad := strings.Repeat("p", 1000)
	for i := range n {
		logger.Info("r", slog.Int("n", i), slog.String("pad", pad))
	}
	second := newCollector(t, nil, false)
	d.set(second.addr())
	waitFor(t, "a write to the stuck collector to time out", func() bool { return d.tries.Load() >= 2 })
	stuck.release()
	re := regexp.MustCompile(`"n":(\d+),`)
	seen := make(map[string]bool)
	scanned := make([]int, 2)
	waitFor(t, "every record at one of the collectors", func() bool {
		for i, col := range []*collector{stuck, second} {
			col.mu.Lock()
			for _, s := range col.msgs[scanned[i]:] {
				if m := re.FindStringSubmatch(s); m != nil {
					seen[m[1]] = true
				}
			}
			scanned[i] = len(col.msgs)
			col.mu.Unlock()
		}
		return len(seen) == n
	})
	if f.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", f.Dropped())
	}
	if second.count() == 0 {
		t.Error("nothing reached the second collector: the stuck one took everything, the test proves nothing")
	}
}
