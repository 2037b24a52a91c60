package syslogfwd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
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
