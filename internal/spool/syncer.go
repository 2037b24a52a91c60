package spool

import (
	"sync"
	"sync/atomic"
)

// groupSync runs one sync operation for many callers (group commit):
// every caller that arrives while the operation is running waits for the
// next run, which then covers all of them. It serves the directory fsync
// (SyncFile mode) and the file system's syncfs (SyncFS mode).
type groupSync struct {
	do func() error

	mu      sync.Mutex
	running bool
	waiting []chan error // callers for the next run

	// failures counts the runs that failed. A failed syncfs may have
	// consumed the write-back error of a file whose caller is in a later
	// batch, so a caller also fails when the count moved since it began
	// writing (see Store.syncMode).
	failures atomic.Uint64
}

func newGroupSync(do func() error) *groupSync { return &groupSync{do: do} }

// Sync returns once a run that started after the call has completed.
func (g *groupSync) Sync() error {
	ch := make(chan error, 1)
	g.mu.Lock()
	g.waiting = append(g.waiting, ch)
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	return <-ch
}

// run syncs until nobody is waiting. The caller of the first Sync in a
// quiet period starts it; later callers join the batch being collected.
func (g *groupSync) run() {
	for {
		g.mu.Lock()
		batch := g.waiting
		g.waiting = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		err := g.do()
		if err != nil {
			g.failures.Add(1)
		}
		for _, ch := range batch {
			ch <- err
		}
	}
}
