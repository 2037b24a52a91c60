package spool

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// probeName is the file Probe writes; Scan ignores it (not a queue id).
const probeName = ".probe"

// probeSize is written by Probe: one page, enough to need a free block.
const probeSize = 4096

// WriteHealth says whether the spool can be written, for the spool_write
// alert: every commit, state record, removal and probe counts.
type WriteHealth struct {
	Failures    uint64    // failed writes since Open
	LastError   string    // the last failure, "" if none
	LastErrorAt time.Time // when it happened; zero if never
	LastOK      time.Time // the last successful write; zero if none yet
}

// Failing reports whether the most recent write failed.
func (h WriteHealth) Failing() bool {
	return !h.LastErrorAt.IsZero() && !h.LastErrorAt.Before(h.LastOK)
}

// writeStats is the Store's record of write outcomes.
type writeStats struct {
	mu sync.Mutex
	h  WriteHealth
}

func (w *writeStats) note(err error, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.h.LastOK = now
		return
	}
	w.h.Failures++
	w.h.LastError, w.h.LastErrorAt = err.Error(), now
}

// SetClock sets the clock that dates write outcomes; default time.Now.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

func (s *Store) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// noteWrite records the outcome of a write and returns err.
func (s *Store) noteWrite(err error) error {
	s.stats.note(err, s.clock())
	return err
}

// WriteHealth returns the outcome of the spool's recent writes.
func (s *Store) WriteHealth() WriteHealth {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.h
}

// Probe writes, fdatasyncs and removes a small file in the spool directory,
// so that a health check notices a full or read-only spool (and its
// recovery) without waiting for mail. Its outcome counts in WriteHealth.
func (s *Store) Probe() error {
	path := filepath.Join(s.dir, probeName)
	err := func() error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return &WriteError{Op: "probe create", Err: err}
		}
		defer f.Close()
		buf := make([]byte, probeSize)
		_, _ = rand.Read(buf) // incompressible, for file systems that compress
		if _, err := f.Write(buf); err != nil {
			return &WriteError{Op: "probe write", Err: err}
		}
		if err := fdatasync(f); err != nil {
			return &WriteError{Op: "probe fdatasync", Err: err}
		}
		return nil
	}()
	if rmErr := os.Remove(path); err == nil && rmErr != nil && !os.IsNotExist(rmErr) {
		err = &WriteError{Op: "probe remove", Err: rmErr}
	}
	return s.noteWrite(err)
}
