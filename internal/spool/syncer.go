package spool

import (
	"sync"
	"sync/atomic"
)

// groupSync runs one sync operation for many callers (group commit):
// every caller that arrives while the operation is running waits for the
// next run, which then covers all of them. It serves the directory fsync
// (SyncFile mode), the file system's syncfs (SyncFS mode) and the
// fdatasync of a journal segment (SyncJournal mode).
type groupSync struct {
	do func() error

	mu      sync.Mutex
	running bool
	next    *syncRun // the run the callers arriving now wait for

	// failures counts the runs that failed. A failed syncfs or fdatasync
	// may have consumed the write-back error of a write whose caller is in
	// a later batch, so a caller also fails when the count moved since it
	// began writing (see Store.syncWrite).
	failures atomic.Uint64
}

// syncRun is one run of the operation and everyone waiting for it: one
// channel per run, not per caller.
type syncRun struct {
	done chan struct{}
	err  error
}

func newGroupSync(do func() error) *groupSync { return &groupSync{do: do} }

// Sync returns once a run that started after the call has completed.
func (g *groupSync) Sync() error {
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &syncRun{done: make(chan struct{})}
		g.next = r
	}
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	<-r.done
	return r.err
}

// run syncs until nobody is waiting. The caller of the first Sync in a
// quiet period starts it; later callers join the run being collected.
func (g *groupSync) run() {
	for {
		g.mu.Lock()
		r := g.next
		g.next = nil
		if r == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		r.err = g.do()
		if r.err != nil {
			g.failures.Add(1)
		}
		close(r.done)
	}
}
