package main

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/posthorn/posthorn/internal/dashboard"
	"github.com/posthorn/posthorn/internal/health"
	"github.com/posthorn/posthorn/internal/stats"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/trace"
)

// openStats opens data_dir/posthorn.db and the per-minute statistics in it.
func openStats(dataDir string, cfg statsConfig, logger *slog.Logger) (*sql.DB, *stats.Stats, error) {
	db, err := store.Open(filepath.Join(dataDir, "posthorn.db"), store.Options{})
	if err != nil {
		return nil, nil, err
	}
	st, err := stats.New(db, stats.Options{Retention: cfg.retention, MaxRows: cfg.maxRows, Logger: logger})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

type statsConfig struct {
	retention time.Duration
	maxRows   int
}

// openTrace opens data_dir/trace.db and the trace store in it.
func openTrace(dataDir string, retention time.Duration, maxEvents int, logger *slog.Logger) (*sql.DB, *trace.Store, error) {
	db, err := store.Open(filepath.Join(dataDir, "trace.db"), store.Options{})
	if err != nil {
		return nil, nil, err
	}
	st, err := trace.New(db, trace.Options{Retention: retention, MaxEvents: maxEvents, Logger: logger})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

// sampleStats records the queue and upstream gauges once a minute for the
// dashboard, until ctx is done.
func (d *daemon) sampleStats(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		d.sampleOnce(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *daemon) sampleOnce(ctx context.Context, now time.Time) {
	n, oldest := d.q.Stats()
	var age time.Duration
	if !oldest.IsZero() {
		age = now.Sub(oldest)
	}
	ups := make(map[string]bool)
	for _, s := range d.courier().Status() {
		ups[s.Addr] = s.Up
	}
	if err := d.stats.Sample(ctx, now, n, age, ups); err != nil && ctx.Err() == nil {
		d.logger.Warn("recording queue statistics failed", slog.String("error", err.Error()))
	}
}

// live is the dashboard's view of the current state.
func (d *daemon) live() dashboard.Live {
	n, oldest := d.q.Stats()
	l := dashboard.Live{QueueDepth: n}
	if !oldest.IsZero() {
		l.OldestAge = time.Since(oldest)
	}
	for _, s := range d.courier().Status() {
		l.Upstreams = append(l.Upstreams, dashboard.UpstreamLive{Name: s.Addr, Up: s.Up, DownSince: s.DownSince, LastError: s.LastError})
	}
	r := d.run.Load()
	l.ConfigFingerprint, l.ConfigLoaded = r.fingerprint, r.loaded
	if differs, since, _ := d.Drift(); differs {
		l.DriftSince = since
	}
	return l
}

// outcomes and serviceActivity feed the deferral-ratio and silent-service
// checks from the statistics.
func (d *daemon) outcomes(ctx context.Context, since time.Time) (delivered, deferred int, err error) {
	delivered, deferred, _, err = d.stats.Outcomes(ctx, since)
	return delivered, deferred, err
}

func (d *daemon) serviceActivity(ctx context.Context, since time.Time) ([]health.Activity, error) {
	acts, err := d.stats.ServiceActivity(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make([]health.Activity, 0, len(acts))
	for _, a := range acts {
		if a.Service == "posthorn" {
			continue // our own notices are not a service that sends
		}
		out = append(out, health.Activity{Service: a.Service, Messages: a.Messages, Last: a.Last})
	}
	return out, nil
}
