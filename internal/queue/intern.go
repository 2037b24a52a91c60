package queue

import "sync"

// interner shares one copy of strings that repeat across many queued
// messages (client address, HELO name, service, sender, the last error of a
// relay that is down), which keeps the memory of a large queue small.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

const internMax = 4096 // distinct strings kept; the table starts over when full

func (in *interner) get(s string) string {
	if s == "" {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil || len(in.m) >= internMax {
		in.m = make(map[string]string, 256)
	}
	in.m[s] = s
	return s
}
