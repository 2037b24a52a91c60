package syslogfwd

import (
	"bytes"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Forwarder sends slog records to one syslog collector. Build it with New,
// wrap handlers with Handler, and run Run in its own goroutine.
type Forwarder struct {
	o        Options
	facility int
	header   string // "HOSTNAME APP-NAME PROCID "
	q        *queue
	bufs     sync.Pool

	dropped   atomic.Uint64
	connected atomic.Bool
	stopped   atomic.Bool // Run returned or Close was called: nothing more is sent

	running  atomic.Bool
	stopOnce sync.Once
	stopC    chan struct{}
	doneC    chan struct{}

	// Error log rate limit; used only by Run's goroutine.
	lastErr    time.Time
	suppressed int
}

// New returns a forwarder for o. It does not connect: Run does.
func New(opts Options) *Forwarder {
	o := opts.withDefaults()
	f := &Forwarder{
		o:     o,
		q:     newQueue(o.Buffer),
		stopC: make(chan struct{}),
		doneC: make(chan struct{}),
	}
	f.bufs.New = func() any { return new(bytes.Buffer) }
	code, ok := facilityCode(o.Facility)
	if !ok {
		if o.Facility != "" {
			o.Logger.Warn("syslog: unknown facility, using mail", slog.String("facility", o.Facility))
		}
		code, _ = facilityCode("mail")
	}
	f.facility = code
	f.header = headerField(o.Hostname, 255) + " " + headerField(o.AppName, 48) + " " +
		headerField(o.ProcID, 128) + " "
	return f
}

// Handler returns a slog.Handler that passes every record to next and also
// queues it for the collector (see the package comment for the format).
// Handle never blocks on the network.
func (f *Forwarder) Handler(next slog.Handler) slog.Handler {
	return &handler{f: f, next: next}
}

// enqueue queues one frame, dropping the oldest one when the queue is full.
func (f *Forwarder) enqueue(frame []byte) {
	if f.stopped.Load() {
		f.dropped.Add(1)
		return
	}
	if f.q.push(frame) {
		f.dropped.Add(1)
	}
}

// Dropped returns the number of records that were not sent: pushed out of
// the full queue, still queued when Run stopped, or logged after it stopped.
func (f *Forwarder) Dropped() uint64 { return f.dropped.Load() }

// Connected reports whether Run holds a connection to the collector.
func (f *Forwarder) Connected() bool { return f.connected.Load() }

// Queued returns the number of records waiting to be sent.
func (f *Forwarder) Queued() int { return f.q.len() }

// Close stops Run as if its context had ended (flushing for at most about
// FlushTimeout) and waits for it to return. Without a running Run, it
// drops what is queued. Safe to call more than once.
func (f *Forwarder) Close() {
	f.stopOnce.Do(func() { close(f.stopC) })
	if f.running.Load() {
		<-f.doneC
		return
	}
	f.stopped.Store(true)
	for _, n := f.q.take(nil, 0); n > 0; _, n = f.q.take(nil, 0) {
		f.dropped.Add(uint64(n))
	}
}

// logError logs a connection problem, at most once per ErrorInterval.
func (f *Forwarder) logError(msg string, err error) {
	now := time.Now()
	if !f.lastErr.IsZero() && now.Sub(f.lastErr) < f.o.ErrorInterval {
		f.suppressed++
		return
	}
	f.o.Logger.Error(msg, slog.String("address", f.o.Address), slog.String("error", err.Error()),
		slog.Int("suppressed", f.suppressed), slog.Uint64("dropped", f.dropped.Load()))
	f.lastErr = now
	f.suppressed = 0
}
