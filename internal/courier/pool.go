package courier

import (
	"sync"
	"time"
)

// pool keeps idle connections per target key, newest first out.
type pool struct {
	max     int
	timeout time.Duration
	now     func() time.Time

	mu     sync.Mutex
	idle   map[string][]*conn
	closed bool
}

func newPool(maxIdle int, timeout time.Duration, now func() time.Time) *pool {
	return &pool{max: maxIdle, timeout: timeout, now: now, idle: make(map[string][]*conn)}
}

// get returns an idle connection for key, or nil.
func (p *pool) get(key string) *conn {
	var stale []*conn
	defer func() {
		for _, cn := range stale {
			cn.quit()
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for list := p.idle[key]; len(list) > 0; list = p.idle[key] {
		cn := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		cn.timer.Stop()
		if now.Sub(cn.idleSince) >= p.timeout {
			stale = append(stale, cn)
			continue
		}
		cn.reused = true
		return cn
	}
	return nil
}

// put parks cn for reuse, or closes it when the pool is full or closed.
func (p *pool) put(cn *conn) {
	p.mu.Lock()
	if p.closed || len(p.idle[cn.key]) >= p.max {
		p.mu.Unlock()
		cn.quit()
		return
	}
	cn.idleSince = p.now()
	cn.timer = time.AfterFunc(p.timeout, func() { p.expire(cn) })
	p.idle[cn.key] = append(p.idle[cn.key], cn)
	p.mu.Unlock()
}

// expire closes cn if it is still idle.
func (p *pool) expire(cn *conn) {
	p.mu.Lock()
	list := p.idle[cn.key]
	found := false
	for i, x := range list {
		if x == cn {
			p.idle[cn.key] = append(list[:i:i], list[i+1:]...)
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		cn.quit()
	}
}

// close closes every idle connection; later puts close theirs at once.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var all []*conn
	for k, list := range p.idle {
		all = append(all, list...)
		delete(p.idle, k)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, cn := range all {
		cn.timer.Stop()
		wg.Go(cn.quit)
	}
	wg.Wait()
}
