package syslogfwd

import "sync"

// queue is a bounded FIFO of complete frames. push never blocks: when the
// queue is full it drops the oldest frame to make room.
type queue struct {
	mu    sync.Mutex
	ring  [][]byte
	head  int // index of the oldest frame
	n     int // frames queued
	wakeC chan struct{}
}

func newQueue(size int) *queue {
	return &queue{ring: make([][]byte, size), wakeC: make(chan struct{}, 1)}
}

// push appends frame and reports whether an older frame was dropped.
func (q *queue) push(frame []byte) (dropped bool) {
	q.mu.Lock()
	if q.n == len(q.ring) {
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		dropped = true
	}
	q.ring[(q.head+q.n)%len(q.ring)] = frame
	q.n++
	q.mu.Unlock()
	select {
	case q.wakeC <- struct{}{}:
	default:
	}
	return dropped
}

// take appends queued frames to dst, oldest first, while dst stays within
// max bytes (always at least one frame when any is queued), and returns
// dst and the number of frames taken.
func (q *queue) take(dst []byte, max int) ([]byte, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	taken := 0
	for q.n > 0 {
		f := q.ring[q.head]
		if taken > 0 && len(dst)+len(f) > max {
			break
		}
		dst = append(dst, f...)
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		taken++
	}
	return dst, taken
}

// len returns the number of queued frames.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// wake is signalled (without blocking) after every push.
func (q *queue) wake() <-chan struct{} { return q.wakeC }
