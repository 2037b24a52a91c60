package spool

import (
	"os"
	"sync"
)

// dirSyncer makes directory entries durable with group commit: every caller
// that arrives while an fsync is running waits for the next one, which then
// covers all of them.
type dirSyncer struct {
	dir *os.File

	mu      sync.Mutex
	running bool
	waiting []chan error // callers for the next fsync
}

func newDirSyncer(dir *os.File) *dirSyncer { return &dirSyncer{dir: dir} }

// Sync returns once an fsync of the directory that started after the call has
// completed.
func (d *dirSyncer) Sync() error {
	ch := make(chan error, 1)
	d.mu.Lock()
	d.waiting = append(d.waiting, ch)
	if !d.running {
		d.running = true
		go d.run()
	}
	d.mu.Unlock()
	return <-ch
}

// run fsyncs until nobody is waiting. The caller of the first Sync in a
// quiet period starts it; later callers join the batch being collected.
func (d *dirSyncer) run() {
	for {
		d.mu.Lock()
		batch := d.waiting
		d.waiting = nil
		if len(batch) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		err := d.dir.Sync()
		for _, ch := range batch {
			ch <- err
		}
	}
}
