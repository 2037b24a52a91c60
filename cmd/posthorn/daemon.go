package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/health"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/listserv"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/stats"
	"github.com/posthorn/posthorn/internal/trace"
)

// daemon is the running posthorn serve: the parts that live for the whole
// process and the configuration generation in force.
//
// A reload (SIGHUP, posthorn reload, POST /v1/reload on the control socket)
// loads and checks the file, binds any new listener, and only then swaps:
// the SMTP server (sessions already open finish under the old one), the
// queue policy (attempts in flight finish under the old one), the courier
// when delivery settings changed, the HTTP listener when its address
// changed, the log level, and the web interface's lists.site_url and
// http.operator_networks (reloadWeb). A failed reload changes nothing and is
// reported by /healthz, posthorn health and the reload command.
type daemon struct {
	path    string // config file; "" = the default path or embedded defaults
	logger  *slog.Logger
	level   *slog.LevelVar
	mlog    *maillog.Log
	store   *spool.Store
	q       *queue.Queue
	front   *smtpd.Front
	web     *webServer
	health  *health.Checker
	stats   *stats.Stats
	trace   *trace.Store
	lists   *lists.Store
	listSrv *listserv.Server
	app     *webApp // the web interface (accounts, lists, archive)
	archive *archive.Archive

	// smtpState (connection counts, failed logins, rates) is shared by
	// the SMTP servers of successive configurations; certs is the TLS
	// certificate of the running one (nil = no TLS), changed by reload.
	smtpState *smtpd.State
	certs     *smtpd.CertStore

	reloadMu sync.Mutex // one reload at a time
	run      atomic.Pointer[running]
	cour     atomic.Pointer[courierGen]
	last     atomic.Pointer[reloadResult]
	drift    atomic.Pointer[driftState]
}

// running is the configuration in force.
type running struct {
	cfg         *config.Config
	fingerprint string
	loaded      time.Time
}

type courierGen struct {
	c   *courier.Courier
	key string // courierKey of the configuration it was built from
}

type reloadResult struct {
	err string
	at  time.Time
}

// driftState says whether the file on disk differs from the running
// configuration, since when, and why.
type driftState struct {
	differs bool
	since   time.Time
	reason  string // "changed" or the load error
	checked time.Time
}

func (d *daemon) setRunning(cfg *config.Config, at time.Time) {
	d.run.Store(&running{cfg: cfg, fingerprint: cfg.Fingerprint(), loaded: at})
}

func (d *daemon) config() *config.Config { return d.run.Load().cfg }

func (d *daemon) courier() *courier.Courier { return d.cour.Load().c }

func (d *daemon) setCourier(c *courier.Courier, key string) {
	d.cour.Store(&courierGen{c: c, key: key})
}

// Running implements control.ConfigOps.
func (d *daemon) Running() control.RunningConfig {
	r := d.run.Load()
	rc := control.RunningConfig{Path: d.path, Fingerprint: r.fingerprint, Loaded: r.loaded}
	if data, err := r.cfg.Redacted().TOML(); err == nil {
		rc.TOML = string(data)
	}
	if l := d.last.Load(); l != nil {
		rc.LastReloadError, rc.LastReloadAt = l.err, l.at
	}
	return rc
}

// Reload implements control.ConfigOps: load, check, bind, swap.
func (d *daemon) Reload(ctx context.Context) (control.RunningConfig, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	err := d.reload()
	now := time.Now()
	if err != nil {
		d.last.Store(&reloadResult{err: err.Error(), at: now})
		d.logger.Error("configuration reload failed; the running configuration stays",
			slog.String("path", d.path), slog.String("error", err.Error()),
			slog.String("config_fingerprint", d.run.Load().fingerprint))
		return d.Running(), err
	}
	d.last.Store(&reloadResult{at: now})
	d.checkDrift(now)
	r := d.run.Load()
	d.logger.Info("configuration reloaded", slog.String("path", d.path),
		slog.String("config_fingerprint", r.fingerprint))
	return d.Running(), nil
}

// ReloadError is why a reload was refused.
type ReloadError struct {
	Stage string // "load", "check", "listen"
	Err   error
}

func (e *ReloadError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *ReloadError) Unwrap() error { return e.Err }

func (d *daemon) reload() error {
	cfg, err := loadCandidate(d.path)
	if err != nil {
		return &ReloadError{Stage: "load", Err: err}
	}
	old := d.config()
	if cfg.DataDir != old.DataDir {
		return &ReloadError{Stage: "check", Err: fmt.Errorf("data_dir cannot change while running (%s → %s); restart to move it", old.DataDir, cfg.DataDir)}
	}
	// Bind first: a listen error must leave everything as it was.
	newWeb, err := d.web.prepare(cfg.HTTP.Listen)
	if err != nil {
		return &ReloadError{Stage: "listen", Err: fmt.Errorf("http.listen: %w", err)}
	}
	// A reload re-reads the certificate (renewed files are in force at
	// once); files that do not load refuse the reload.
	certs, err := d.prepareCerts(cfg)
	if err != nil {
		newWeb.abort()
		return &ReloadError{Stage: "check", Err: fmt.Errorf("smtp.tls_cert_file: %w", err)}
	}
	if err := d.front.ListenAll(cfg.SMTP.Listen, cfg.SMTP.ImplicitTLSListen); err != nil {
		newWeb.abort()
		return &ReloadError{Stage: "listen", Err: fmt.Errorf("smtp.listen: %w", err)}
	}
	d.certs = certs
	// Nothing can fail from here on.
	cg := d.cour.Load()
	if key := courierKey(cfg); key != cg.key {
		c, err := newCourier(cfg, d.logger)
		if err != nil { // unreachable: Validate read the CA file
			newWeb.abort()
			return &ReloadError{Stage: "check", Err: err}
		}
		d.setCourier(c, key)
		// Deliveries in flight keep using the old courier; its connections
		// close as they are handed back.
		defer cg.c.Close()
	}
	d.q.SetPolicy(d.queuePolicy(cfg))
	drain, cancel := context.WithTimeout(context.Background(), cfg.SMTP.MaxSessionTime.Std())
	d.front.Swap(drain, d.newSMTPServer(cfg, certs))
	time.AfterFunc(cfg.SMTP.MaxSessionTime.Std(), cancel) // releases the timer's resources
	newWeb.commit()
	setLevel(d.level, cfg)
	d.health.SetAlerts(cfg.Alerts)
	d.reloadWeb(old, cfg)
	if cfg.Delivery.Concurrency != old.Delivery.Concurrency || cfg.Log.Format != old.Log.Format || cfg.Log.Syslog != old.Log.Syslog ||
		cfg.SpoolSync != old.SpoolSync {
		d.logger.Warn("delivery.concurrency, log.format, log.syslog and spool_sync take effect at the next restart")
	}
	d.setRunning(cfg, time.Now())
	return nil
}

// courierKey identifies the settings a courier is built from: a reload
// that keeps them keeps the courier, its connections and what it knows
// about which upstreams are down.
func courierKey(cfg *config.Config) string {
	d := cfg.Delivery
	d.RetrySchedule, d.MaxLifetime, d.DelayWarning, d.Concurrency, d.ShutdownGrace = nil, 0, 0, 0, 0
	data, _ := json.Marshal(struct {
		Hostname string
		Delivery config.Delivery
		DKIM     []config.DKIMKey
	}{cfg.Hostname, d, cfg.DKIM})
	return string(data)
}

// watchDrift compares the file on disk with the running configuration
// every alerts.check_interval.
func (d *daemon) watchDrift(ctx context.Context) {
	for {
		interval := d.config().Alerts.CheckInterval.Std()
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
			d.checkDrift(time.Now())
		}
	}
}

// checkDrift loads the configuration file and records whether its
// effective configuration differs from the running one.
func (d *daemon) checkDrift(now time.Time) {
	differs, reason := false, ""
	if d.path != "" || fileExists(DefaultConfigPath) {
		cfg, _, err := loadWithTests(d.path) // as serve and reload load it
		switch {
		case err != nil:
			differs, reason = true, "the file does not load: "+firstLine(err.Error())
		case cfg.Fingerprint() != d.run.Load().fingerprint:
			differs, reason = true, "the file differs from the running configuration"
		}
	}
	prev := d.drift.Load()
	st := &driftState{differs: differs, reason: reason, checked: now}
	if differs {
		st.since = now
		if prev != nil && prev.differs {
			st.since = prev.since
		}
	}
	if differs && (prev == nil || !prev.differs) {
		d.logger.Warn("configuration drift: the file on disk is not the running configuration",
			slog.String("path", d.path), slog.String("reason", reason))
	}
	d.drift.Store(st)
}

// Drift reports whether the file differs from the running configuration
// and since when.
func (d *daemon) Drift() (differs bool, since time.Time, reason string) {
	st := d.drift.Load()
	if st == nil {
		return false, time.Time{}, ""
	}
	return st.differs, st.since, st.reason
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// loadCandidate loads and validates a configuration file for serve and
// reload, and runs its tests and the built-in invariants: a configuration
// that fails them is refused.
func loadCandidate(path string) (*config.Config, error) {
	cfg, res, err := checkCandidate(path)
	if err != nil {
		return nil, err
	}
	if _, err := dkimSigner(cfg); err != nil {
		return nil, err
	}
	if res.Failed() {
		var b strings.Builder
		_ = res.Write(&b, false)
		return nil, &ConfigTestError{Report: strings.TrimRight(b.String(), "\n")}
	}
	return cfg, nil
}

// ConfigTestError is a configuration refused by its tests or invariants.
type ConfigTestError struct {
	Report string // what posthorn check prints
}

func (e *ConfigTestError) Error() string { return "configuration tests failed:\n" + e.Report }

// webServer is the HTTP listener; a reload that changes http.listen binds
// the new address before closing the old one.
type webServer struct {
	handler http.Handler
	logger  *slog.Logger

	mu   sync.Mutex
	addr string
	srv  *http.Server
}

func newWebServer(h http.Handler, logger *slog.Logger) *webServer {
	return &webServer{handler: h, logger: logger}
}

// listen binds addr ("" = none) and serves.
func (w *webServer) listen(addr string) error {
	p, err := w.prepare(addr)
	if err != nil {
		return err
	}
	p.commit()
	return nil
}

// webChange is a prepared change of the HTTP listener.
type webChange struct {
	w    *webServer
	addr string
	ln   net.Listener // nil when nothing changes or the listener goes away
	keep bool
}

func (w *webServer) prepare(addr string) (*webChange, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if addr == w.addr && (addr == "") == (w.srv == nil) {
		return &webChange{w: w, keep: true}, nil
	}
	ch := &webChange{w: w, addr: addr}
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		ch.ln = ln
	}
	return ch, nil
}

func (c *webChange) abort() {
	if c.ln != nil {
		c.ln.Close()
	}
}

func (c *webChange) commit() {
	if c.keep {
		return
	}
	w := c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := w.srv; old != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = old.Shutdown(ctx)
		}()
		w.logger.Info("http listener closed", slog.String("addr", w.addr))
	}
	w.addr, w.srv = c.addr, nil
	if c.ln != nil {
		srv := &http.Server{Handler: w.handler, ReadHeaderTimeout: 10 * time.Second}
		w.srv = srv
		go func() {
			if err := srv.Serve(c.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				w.logger.Error("http listener failed", slog.String("error", err.Error()))
			}
		}()
		w.logger.Info("http listener opened", slog.String("addr", c.ln.Addr().String()))
	}
}

func (w *webServer) shutdown(ctx context.Context) {
	w.mu.Lock()
	srv := w.srv
	w.srv = nil
	w.mu.Unlock()
	if srv != nil {
		_ = srv.Shutdown(ctx)
	}
}

func newControlServer(h http.Handler) *http.Server {
	// Reload runs config tests, which may take a while on big list data.
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
}
