// Package route splits a message's recipients between the local list server
// and the courier: the queue delivers through a Router, which hands each
// recipient on a list domain to Local and every other one to Remote, and
// returns one result per recipient in the original order.
package route

import (
	"context"
	"strings"

	"github.com/posthorn/posthorn/internal/courier"
)

// Deliverer attempts delivery of a message; *courier.Courier and
// *listserv.Server are ones.
type Deliverer interface {
	Deliver(ctx context.Context, m *courier.Message) []courier.Result
}

// LocalLabel is the upstream reported for recipients the list server took.
const LocalLabel = "lists"

// Router sends recipients to Local or Remote.
type Router struct {
	Local   Deliverer              // nil: every recipient is remote
	Remote  Deliverer              // the courier
	IsLocal func(rcpt string) bool // a recipient on a list domain
}

// Deliver implements Deliverer.
func (r *Router) Deliver(ctx context.Context, m *courier.Message) []courier.Result {
	if r.Local == nil || r.IsLocal == nil {
		return r.Remote.Deliver(ctx, m)
	}
	var local, remote []int
	for i, rc := range m.Rcpts {
		if r.IsLocal(rc) {
			local = append(local, i)
		} else {
			remote = append(remote, i)
		}
	}
	switch {
	case len(local) == 0:
		return r.Remote.Deliver(ctx, m)
	case len(remote) == 0:
		return label(r.Local.Deliver(ctx, m))
	}
	out := make([]courier.Result, len(m.Rcpts))
	put := func(idx []int, res []courier.Result) {
		for k, i := range idx {
			out[i] = res[k]
		}
	}
	put(local, label(r.Local.Deliver(ctx, sub(m, local))))
	put(remote, r.Remote.Deliver(ctx, sub(m, remote)))
	return out
}

func sub(m *courier.Message, idx []int) *courier.Message {
	c := *m
	c.Rcpts = make([]string, len(idx))
	for k, i := range idx {
		c.Rcpts[k] = m.Rcpts[i]
	}
	return &c
}

func label(res []courier.Result) []courier.Result {
	for i := range res {
		if res[i].Upstream == "" {
			res[i].Upstream = LocalLabel
		}
	}
	return res
}

// DomainOf returns the lower-cased domain of an address.
func DomainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return strings.ToLower(addr[at+1:])
	}
	return ""
}
