package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/mtasts"
	"github.com/posthorn/posthorn/internal/pickup"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/sdnotify"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/syslogfwd"
)

// runServe is the daemon: it wires the parts, serves until ctx is done
// (SIGTERM), then drains.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	path, rest, err := configFlag(args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unknown argument %q", rest[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "posthorn serve:", err)
		return 2
	}
	cfg, err := loadCandidate(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "posthorn serve: refusing to start with an invalid configuration")
		return 1
	}
	level := new(slog.LevelVar)
	logger := newLogger(cfg, level, stderr)
	if cfg.Log.Syslog.Address != "" {
		fwd, err := newForwarder(cfg, logger)
		if err != nil {
			fmt.Fprintln(stderr, "posthorn serve: log.syslog:", err)
			return 1
		}
		fctx, stopFwd := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); fwd.Run(fctx) }()
		defer func() { stopFwd(); <-done }() // flushes what is queued, briefly
		logger = slog.New(fwd.Handler(logger.Handler()))
	}
	// Half the default GC headroom: a queue of 100,000 messages stays under
	// 100 MB resident (docs/benchmarks.md) for a little more GC work.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if err := serve(ctx, path, cfg, logger, level); err != nil {
		logger.Error("posthorn stopped with an error", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

func newLogger(cfg *config.Config, level *slog.LevelVar, w io.Writer) *slog.Logger {
	setLevel(level, cfg)
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, hopts))
	}
	return slog.New(slog.NewJSONHandler(w, hopts))
}

// newForwarder builds the syslog forwarder of log.syslog; its own errors
// go to the local log only.
func newForwarder(cfg *config.Config, local *slog.Logger) (*syslogfwd.Forwarder, error) {
	sc := cfg.Log.Syslog
	var tlsCfg *tls.Config
	if sc.TLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if sc.CAFile != "" {
			pem, err := os.ReadFile(sc.CAFile)
			if err != nil {
				return nil, err
			}
			tlsCfg.RootCAs = x509.NewCertPool()
			if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, errors.New("ca_file: no certificates found")
			}
		}
	}
	return syslogfwd.New(syslogfwd.Options{
		Address: sc.Address, TLS: tlsCfg, Facility: sc.Facility, AppName: sc.AppName,
		Hostname: cfg.Hostname, Buffer: sc.Buffer, MailOnly: sc.MailOnly, Logger: local,
	}), nil
}

func setLevel(level *slog.LevelVar, cfg *config.Config) {
	var l slog.Level
	_ = l.UnmarshalText([]byte(cfg.Log.Level))
	level.Set(l)
}

// dataPaths are the files and directories under data_dir.
type dataPaths struct {
	queue, quarantine, maildrop, control, lock string
}

func pathsOf(dataDir string) dataPaths {
	return dataPaths{
		queue:      filepath.Join(dataDir, "queue"),
		quarantine: filepath.Join(dataDir, "quarantine"),
		maildrop:   filepath.Join(dataDir, "maildrop"),
		control:    filepath.Join(dataDir, "control.sock"),
		lock:       filepath.Join(dataDir, "posthorn.lock"),
	}
}

func serve(ctx context.Context, path string, cfg *config.Config, logger *slog.Logger, level *slog.LevelVar) error {
	p := pathsOf(cfg.DataDir)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	lock, err := lockDataDir(p.lock)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := ensureMaildrop(cfg.DataDir); err != nil {
		return err
	}
	d := &daemon{path: path, logger: logger, level: level, mlog: maillog.New(logger)}
	d.setRunning(cfg, time.Now())
	db, st, err := openStats(cfg.DataDir, statsConfig{cfg.Stats.Retention.Std(), cfg.Stats.MaxRows}, logger)
	if err != nil {
		return fmt.Errorf("opening the statistics store: %w", err)
	}
	defer db.Close()
	d.stats = st
	d.mlog.AddSink(st)
	if cfg.Trace.MaxEvents > 0 {
		tdb, tr, err := openTrace(cfg.DataDir, cfg.Trace.Retention.Std(), cfg.Trace.MaxEvents, logger)
		if err != nil {
			return fmt.Errorf("opening the trace store: %w", err)
		}
		defer tdb.Close()
		defer tr.Close() // after Run returned (workers.Wait)
		d.trace = tr
		d.mlog.AddSink(tr)
	}
	d.store, err = spool.Open(p.queue, p.quarantine, logger)
	if err != nil {
		return err
	}
	defer d.store.Close()
	if err := d.store.SetSyncMode(spoolSyncMode(cfg.SpoolSync)); err != nil {
		return err
	}
	drop, err := spool.Open(p.maildrop, p.quarantine, logger)
	if err != nil {
		return err
	}
	defer drop.Close()
	drop.SetTempGrace(time.Hour) // sendmail processes write here concurrently

	cour, err := newCourier(cfg, logger)
	if err != nil {
		return err
	}
	d.setCourier(cour, courierKey(cfg))
	defer func() { d.courier().Close() }()
	d.q = queue.New(queue.Options{
		Store: d.store, Courier: cour, Hostname: cfg.Hostname,
		RetrySchedule: durations(cfg.Delivery.RetrySchedule),
		MaxLifetime:   cfg.Delivery.MaxLifetime.Std(), DelayWarning: cfg.Delivery.DelayWarning.Std(),
		Concurrency: cfg.Delivery.Concurrency, MailLog: d.mlog, Logger: logger,
	})
	adb, arch, err := openArchive(ctx, cfg.DataDir, logger)
	if err != nil {
		return fmt.Errorf("opening the archive: %w", err)
	}
	defer adb.Close()
	d.archive = arch
	if err := d.openListServer(ctx, db, cfg); err != nil {
		return fmt.Errorf("opening the lists: %w", err)
	}
	d.q.SetPolicy(d.queuePolicy(cfg))
	if d.app, err = d.openWeb(ctx, db, cfg); err != nil {
		return fmt.Errorf("opening the web interface: %w", err)
	}
	recovered, corrupt, err := d.q.Recover()
	if err != nil {
		return fmt.Errorf("recovering the spool: %w", err)
	}
	logger.Info("spool recovered", slog.Int("messages", recovered), slog.Int("corrupt", corrupt))

	d.smtpState = smtpd.NewState()
	certs, err := d.prepareCerts(cfg)
	if err != nil {
		return fmt.Errorf("smtp.tls_cert_file: %w", err)
	}
	d.certs = certs
	d.front = smtpd.NewFront(d.newSMTPServer(cfg, certs), logger)
	if err := d.front.ListenAll(cfg.SMTP.Listen, cfg.SMTP.ImplicitTLSListen); err != nil {
		d.front.Shutdown(context.Background())
		return fmt.Errorf("smtp listen: %w", err)
	}
	reg := prometheus.NewRegistry()
	met, err := d.newMetrics(reg)
	if err != nil {
		return err
	}
	d.mlog.AddSink(met)
	d.health = d.newHealth(time.Now())
	d.web = newWebServer(d.httpHandler(reg), logger)
	if err := d.web.listen(cfg.HTTP.Listen); err != nil {
		d.front.Shutdown(context.Background())
		return fmt.Errorf("http listen: %w", err)
	}
	ctlLn, err := control.Listen(p.control)
	if err != nil {
		d.front.Shutdown(context.Background())
		d.web.shutdown(context.Background())
		return fmt.Errorf("control socket: %w", err)
	}

	pick := &pickup.Pickup{Drop: drop, Queue: d.store, Add: d.q.Add, Logger: logger, MailLog: d.mlog}
	stopCtx, stopWork := context.WithCancel(context.Background())
	abortCtx, abortWork := context.WithCancel(context.Background())
	defer abortWork()
	var workers sync.WaitGroup
	workers.Add(7)
	if d.trace != nil {
		workers.Add(1)
		go func() { defer workers.Done(); d.trace.Run(stopCtx) }()
	}
	go func() { defer workers.Done(); d.listSrv.Run(stopCtx) }()
	go func() { defer workers.Done(); st.Run(stopCtx) }()
	go func() { defer workers.Done(); d.sampleStats(stopCtx) }()
	go func() { defer workers.Done(); d.health.Run(stopCtx) }()
	go func() { defer workers.Done(); d.q.Run(stopCtx, abortCtx) }()
	go func() { defer workers.Done(); pick.Run(stopCtx) }()
	go func() { defer workers.Done(); d.watchDrift(stopCtx) }()

	ctlSrv := newControlServer(control.NewDaemonHandler(d.q, pick.Poke, d, d))
	go ctlSrv.Serve(ctlLn)
	logger.Info("posthorn started", slog.String("version", version), slog.String("hostname", cfg.Hostname),
		slog.Any("smtp", cfg.SMTP.Listen), slog.String("http", cfg.HTTP.Listen),
		slog.Any("upstreams", cfg.Delivery.Upstreams), slog.String("config_fingerprint", cfg.Fingerprint()))
	_ = sdnotify.Notify("READY=1")

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-hup:
			_ = sdnotify.Notify("RELOADING=1")
			_, _ = d.Reload(ctx)
			_ = sdnotify.Notify("READY=1")
		}
	}

	// Drain: stop accepting, let sessions and deliveries finish within the
	// grace period, then abandon what is left (it stays in the spool).
	_ = sdnotify.Notify("STOPPING=1")
	grace := d.config().Delivery.ShutdownGrace.Std()
	logger.Info("stopping", slog.Duration("grace", grace))
	shutCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	stopWork()
	if err := d.front.Shutdown(shutCtx); err != nil {
		logger.Warn("closed SMTP sessions still open at the end of the grace period")
	}
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutCtx.Done():
		logger.Warn("abandoning deliveries in flight; they stay queued")
		abortWork()
		<-done
	}
	_ = ctlSrv.Shutdown(shutCtx)
	d.web.shutdown(shutCtx)
	logger.Info("posthorn stopped", slog.Int("queued", d.q.Len()))
	return nil
}

// newSMTPServer builds the SMTP server of one configuration generation;
// certs is nil without TLS.
func (d *daemon) newSMTPServer(cfg *config.Config, certs *smtpd.CertStore) *smtpd.Server {
	sc := cfg.SMTP
	opts := smtpd.Options{
		Hostname: cfg.Hostname, TrustedNetworks: cfg.TrustedPrefixes(), Services: d.smtpServices(cfg),
		MaxMessageSize: int64(sc.MaxMessageSize), MaxRecipients: sc.MaxRecipients,
		MaxLineLength: sc.MaxLineLength, MaxReceived: sc.MaxReceivedHeaders,
		MaxConnections: sc.MaxConnections, MaxConnectionsPerIP: sc.MaxConnectionsPerIP,
		ReadTimeout: sc.ReadTimeout.Std(), WriteTimeout: sc.WriteTimeout.Std(),
		MaxSessionTime: sc.MaxSessionTime.Std(), DataTimeout: sc.DataTimeout.Std(),
		AllowAuthWithoutTLS: !sc.RequireTLSForAuth,
		AuthFailureLimit:    sc.AuthFailureLimit, AuthFailureWindow: sc.AuthFailureWindow.Std(), AuthFailureLimitPerUser: sc.AuthFailureLimitPerUser,
		State: d.smtpState, Local: d.localAnswer(cfg), Spool: d.q, MailLog: d.mlog, Logger: d.logger,
	}
	if certs != nil {
		opts.TLSConfig = smtpd.TLSConfig(certs)
	}
	return smtpd.New(opts)
}

// prepareCerts returns the certificate store for cfg: the running one,
// re-read, when the files are the same, else a new one; nil without TLS.
func (d *daemon) prepareCerts(cfg *config.Config) (*smtpd.CertStore, error) {
	sc := cfg.SMTP
	if sc.TLSCertFile == "" {
		return nil, nil
	}
	if cur := d.certs; cur != nil {
		if c, k := cur.Files(); c == sc.TLSCertFile && k == sc.TLSKeyFile {
			return cur, cur.Reload()
		}
	}
	return smtpd.NewCertStore(sc.TLSCertFile, sc.TLSKeyFile, sc.TLSReloadInterval.Std(), nil, d.logger)
}

// smtpServices converts the [[service]] entries for smtpd, with their
// parsed password hashes (Validate checked them).
func (d *daemon) smtpServices(cfg *config.Config) []smtpd.Service {
	nets := cfg.ServiceNetworks()
	out := make([]smtpd.Service, 0, len(nets))
	for i, s := range nets {
		c := cfg.Services[i]
		svc := smtpd.Service{Name: s.Name, Networks: s.Networks, Login: c.Login(), MaxPerMinute: c.MaxMessagesPerMinute}
		if c.AuthPasswordHash != "" {
			h, err := smtpd.ParsePasswordHash(c.AuthPasswordHash)
			if err != nil {
				d.logger.Error("service cannot log in: bad auth_password_hash", slog.String("service", s.Name))
			}
			svc.Password = h
		}
		out = append(out, svc)
	}
	return out
}

func durations(ds []config.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Std()
	}
	return out
}

func newCourier(cfg *config.Config, logger *slog.Logger) (*courier.Courier, error) {
	d := cfg.Delivery
	var roots *x509.CertPool
	if d.TLSCAFile != "" {
		pem, err := os.ReadFile(d.TLSCAFile)
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, errors.New("delivery.tls_ca_file: no certificates found")
		}
	}
	var ups []courier.Upstream
	for _, a := range d.Upstreams {
		ups = append(ups, courier.Upstream{Addr: a, TLS: cfg.UpstreamTLSMode(a)})
	}
	signer, err := dkimSigner(cfg)
	if err != nil {
		return nil, err
	}
	var dk courier.Signer
	if signer != nil {
		dk = signer
	}
	var sts courier.PolicySource
	if d.MTASTS && len(ups) == 0 { // relays are not subject to MTA-STS
		sts = mtasts.NewCache(mtasts.CacheOptions{Logger: logger})
	}
	return courier.New(courier.Options{
		DKIM: dk, MTASTS: sts,
		Hostname: cfg.Hostname, Upstreams: ups, DirectTLS: d.TLS, RootCAs: roots,
		MXPort: d.MXPort, ConnectTimeout: d.ConnectTimeout.Std(), CommandTimeout: d.CommandTimeout.Std(),
		DataTimeout: d.DataTimeout.Std(), IdleTimeout: d.IdleTimeout.Std(), MaxIdlePerHost: d.MaxIdlePerHost,
		DownBackoff: d.DownBackoff.Std(), DownBackoffMax: d.DownBackoffMax.Std(), Logger: logger,
	}), nil
}

// lockDataDir takes the daemon's exclusive lock: one daemon per data_dir,
// and the queue tools know whether a daemon is running.
func lockDataDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another posthorn is running with data_dir %s", filepath.Dir(path))
		}
		return nil, err
	}
	return f, nil
}

// spoolSyncMode maps the spool_sync setting to the spool's mode.
func spoolSyncMode(name string) spool.SyncMode {
	switch name {
	case "filesystem":
		return spool.SyncFS
	case "journal":
		return spool.SyncJournal
	}
	return spool.SyncFile
}
