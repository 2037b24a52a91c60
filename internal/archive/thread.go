package archive

import (
	"sort"
	"time"
)

// threadMsg is what threading needs to know about a post.
type threadMsg struct {
	id        int64 // row id
	number    int64
	messageID string
	refs      []string // oldest first, parent last
	base      string
	isReply   bool
	date      int64 // unix seconds
}

// place is where threading puts a post.
type place struct {
	threadID int64
	parent   int64
	depth    int
}

// container is a node of the JWZ tree: a post, or a placeholder for a
// Message-ID that was referenced but never archived.
type container struct {
	msg      *threadMsg
	parent   *container
	children []*container
}

func (c *container) link(child *container) {
	child.parent = c
	c.children = append(c.children, child)
}

func (c *container) unlink() {
	p := c.parent
	if p == nil {
		return
	}
	for i, k := range p.children {
		if k == c {
			p.children = append(p.children[:i:i], p.children[i+1:]...)
			break
		}
	}
	c.parent = nil
}

// isAncestor reports whether a is n or one of n's ancestors.
func isAncestor(a, n *container) bool {
	for ; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

// first is the post that represents c: itself, or for a placeholder its
// earliest child's.
func (c *container) first() *threadMsg {
	if c.msg != nil {
		return c.msg
	}
	var best *threadMsg
	for _, k := range c.children {
		if m := k.first(); m != nil && (best == nil || earlier(m, best)) {
			best = m
		}
	}
	return best
}

func earlier(a, b *threadMsg) bool {
	if a.date != b.date {
		return a.date < b.date
	}
	return a.number < b.number
}

// computeThreads threads msgs (JWZ) and returns each post's place, by row
// id. The result depends only on the set of posts, never on the order of
// msgs: posts are processed in number order.
//
//  1. Each post gets the container of its Message-ID (a second post with
//     the same Message-ID, or one without, gets a container of its own).
//  2. Its References, oldest first, are chained parent to child where
//     neither is linked yet and no loop would form; its own parent is the
//     last reference (unless that would form a loop). A post without any
//     reference is a root, even if others named it as a child.
//  3. Placeholders are pruned: empty ones dropped, inner ones replaced by
//     their children, a top-level one with a single child replaced by it.
//  4. Subject fallback: a top-level reply ("Re: x") joins the top-level
//     non-reply post with the same base subject chosen by subjectParent.
func computeThreads(msgs []threadMsg, window time.Duration) map[int64]place {
	sorted := make([]*threadMsg, len(msgs))
	for i := range msgs {
		sorted[i] = &msgs[i]
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].number < sorted[j].number })

	byID := map[string]*container{}
	var all []*container
	get := func(id string) *container {
		c := byID[id]
		if c == nil {
			c = &container{}
			byID[id] = c
			all = append(all, c)
		}
		return c
	}
	for _, m := range sorted {
		var c *container
		if m.messageID != "" {
			if c = get(m.messageID); c.msg != nil {
				c = nil // duplicate Message-ID: the first post keeps it
			}
		}
		if c == nil {
			c = &container{}
			all = append(all, c)
		}
		c.msg = m
		var prev *container
		for _, r := range m.refs {
			rc := get(r)
			if prev != nil && rc.parent == nil && !isAncestor(rc, prev) {
				prev.link(rc)
			}
			prev = rc
		}
		switch {
		case len(m.refs) == 0:
			c.unlink()
		case prev != nil && !isAncestor(c, prev):
			c.unlink()
			prev.link(c)
		}
	}

	var roots []*container
	for _, c := range all {
		if c.parent == nil {
			roots = append(roots, prune(c, true)...)
		}
	}
	roots = groupBySubject(roots, window)

	out := make(map[int64]place, len(msgs))
	for _, r := range roots {
		tid := r.first().number
		assign(r, tid, NoNumber, 0, out)
	}
	return out
}

// prune removes placeholders under and at c and returns what takes c's
// place.
func prune(c *container, top bool) []*container {
	var kids []*container
	for _, k := range c.children {
		kids = append(kids, prune(k, false)...)
	}
	c.children = kids
	for _, k := range kids {
		k.parent = c
	}
	if c.msg != nil {
		return []*container{c}
	}
	if len(kids) == 0 {
		return nil
	}
	if !top || len(kids) == 1 {
		for _, k := range kids {
			k.parent = nil
		}
		return kids
	}
	return []*container{c}
}

// groupBySubject attaches top-level replies to the thread their subject
// names (step 4 of computeThreads) and returns the remaining roots.
func groupBySubject(roots []*container, window time.Duration) []*container {
	starts := map[string][]*container{}
	for _, r := range roots {
		if m := r.msg; m != nil && !m.isReply && m.base != "" {
			starts[m.base] = append(starts[m.base], r)
		}
	}
	if len(starts) == 0 {
		return roots
	}
	win := int64(window / time.Second)
	var kept []*container
	for _, r := range roots {
		m := r.first()
		if m == nil || !m.isReply || m.base == "" {
			kept = append(kept, r)
			continue
		}
		best := subjectParent(starts[m.base], m, win)
		if best == nil {
			kept = append(kept, r)
			continue
		}
		if r.msg == nil {
			for _, k := range r.children {
				best.link(k)
			}
			r.children = nil
		} else {
			best.link(r)
		}
	}
	return kept
}

// subjectParent picks the thread a subject-only reply m joins among
// starts: the latest one dated at most win before it and not after it, or
// failing that the earliest one dated less than a day after it (clock skew).
func subjectParent(starts []*container, m *threadMsg, win int64) *container {
	var before, after *container
	for _, q := range starts {
		d := q.msg.date
		switch {
		case d <= m.date && d >= m.date-win:
			if before == nil || d > before.msg.date || (d == before.msg.date && q.msg.number < before.msg.number) {
				before = q
			}
		case d > m.date && d <= m.date+86400:
			if after == nil || d < after.msg.date || (d == after.msg.date && q.msg.number < after.msg.number) {
				after = q
			}
		}
	}
	if before != nil {
		return before
	}
	return after
}

// assign records the places of c's subtree; parent and depth count
// archived posts only.
func assign(c *container, tid, parent int64, depth int, out map[int64]place) {
	sort.Slice(c.children, func(i, j int) bool { return earlier(c.children[i].first(), c.children[j].first()) })
	if c.msg != nil {
		out[c.msg.id] = place{threadID: tid, parent: parent, depth: depth}
		parent, depth = c.msg.number, depth+1
	}
	for _, k := range c.children {
		assign(k, tid, parent, depth, out)
	}
}
