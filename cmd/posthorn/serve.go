package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/pickup"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/sdnotify"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/spool"
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
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "posthorn serve: refusing to start with an invalid configuration")
		return 1
	}
	logger := newLogger(cfg, stderr)
	// Half the default GC headroom: a queue of 100,000 messages stays under
	// 100 MB resident (docs/benchmarks.md) for a little more GC work.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("posthorn stopped with an error", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, hopts))
	}
	return slog.New(slog.NewJSONHandler(w, hopts))
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

func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
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
	mlog := maillog.New(logger)
	store, err := spool.Open(p.queue, p.quarantine, logger)
	if err != nil {
		return err
	}
	defer store.Close()
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
	defer cour.Close()
	q := queue.New(queue.Options{
		Store: store, Courier: cour, Hostname: cfg.Hostname,
		RetrySchedule: durations(cfg.Delivery.RetrySchedule),
		MaxLifetime:   cfg.Delivery.MaxLifetime.Std(), DelayWarning: cfg.Delivery.DelayWarning.Std(),
		Concurrency: cfg.Delivery.Concurrency, MailLog: mlog, Logger: logger,
	})
	recovered, corrupt, err := q.Recover()
	if err != nil {
		return fmt.Errorf("recovering the spool: %w", err)
	}
	logger.Info("spool recovered", slog.Int("messages", recovered), slog.Int("corrupt", corrupt))

	srv := smtpd.New(smtpd.Options{
		Hostname: cfg.Hostname, TrustedNetworks: cfg.TrustedPrefixes(), Services: smtpServices(cfg),
		MaxMessageSize: int64(cfg.SMTP.MaxMessageSize), MaxRecipients: cfg.SMTP.MaxRecipients,
		MaxLineLength: cfg.SMTP.MaxLineLength, MaxReceived: cfg.SMTP.MaxReceivedHeaders,
		MaxConnections: cfg.SMTP.MaxConnections, ReadTimeout: cfg.SMTP.ReadTimeout.Std(),
		WriteTimeout: cfg.SMTP.WriteTimeout.Std(), MaxSessionTime: cfg.SMTP.MaxSessionTime.Std(),
		Spool: q, MailLog: mlog, Logger: logger,
	})
	var smtpLns []net.Listener
	for _, addr := range cfg.SMTP.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(smtpLns)
			return fmt.Errorf("smtp listen: %w", err)
		}
		smtpLns = append(smtpLns, ln)
	}
	var httpLn net.Listener
	if cfg.HTTP.Listen != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			closeAll(smtpLns)
			return fmt.Errorf("http listen: %w", err)
		}
	}
	ctlLn, err := control.Listen(p.control)
	if err != nil {
		closeAll(smtpLns)
		return fmt.Errorf("control socket: %w", err)
	}

	pick := &pickup.Pickup{Drop: drop, Queue: store, Add: q.Add, Logger: logger, MailLog: mlog}
	stopCtx, stopWork := context.WithCancel(context.Background())
	abortCtx, abortWork := context.WithCancel(context.Background())
	defer abortWork()
	var workers sync.WaitGroup
	workers.Add(2)
	go func() { defer workers.Done(); q.Run(stopCtx, abortCtx) }()
	go func() { defer workers.Done(); pick.Run(stopCtx) }()

	var servers sync.WaitGroup
	for _, ln := range smtpLns {
		servers.Add(1)
		go func(ln net.Listener) {
			defer servers.Done()
			if err := srv.Serve(ln); err != nil {
				logger.Error("smtp listener failed", slog.String("addr", ln.Addr().String()), slog.String("error", err.Error()))
			}
		}(ln)
	}
	ctlSrv := &http.Server{Handler: control.NewHandler(q, pick.Poke), ReadHeaderTimeout: 10 * time.Second}
	go ctlSrv.Serve(ctlLn)
	var httpSrv *http.Server
	if httpLn != nil {
		httpSrv = &http.Server{Handler: newHTTPHandler(cfg, q, cour), ReadHeaderTimeout: 10 * time.Second}
		go httpSrv.Serve(httpLn)
	}
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
			logger.Warn("SIGHUP received: live reload is not implemented yet; restart to apply a new configuration")
		}
	}

	// Drain: stop accepting, let sessions and deliveries finish within the
	// grace period, then abandon what is left (it stays in the spool).
	_ = sdnotify.Notify("STOPPING=1")
	grace := cfg.Delivery.ShutdownGrace.Std()
	logger.Info("stopping", slog.Duration("grace", grace))
	shutCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	stopWork()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("closed SMTP sessions still open at the end of the grace period")
	}
	servers.Wait()
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
	if httpSrv != nil {
		_ = httpSrv.Shutdown(shutCtx)
	}
	logger.Info("posthorn stopped", slog.Int("queued", q.Len()))
	return nil
}

func smtpServices(cfg *config.Config) []smtpd.Service {
	var out []smtpd.Service
	for _, s := range cfg.ServiceNetworks() {
		out = append(out, smtpd.Service{Name: s.Name, Networks: s.Networks})
	}
	return out
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
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
	return courier.New(courier.Options{
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
