// Package courier delivers one queued message at a time to the next hop:
// an ordered list of upstream relays with failover, or, when no relay is
// configured, the recipient domains' MX hosts.
//
// # One Deliver call
//
// Deliver returns exactly one Result per recipient. Recipients start
// pending and move through the targets (relays in configured order, or MX
// hosts by preference) until each is decided:
//
//	pending ─▶ target: connect, greet, EHLO, [STARTTLS], MAIL, RCPT…, DATA
//	   ├─ accepted (2xx after the dot)                 ─▶ done, Err nil
//	   ├─ 5xx at RCPT (that recipient), MAIL or DATA   ─▶ done, permanent
//	   ├─ 4xx at RCPT (that recipient)                 ─▶ pending, next target
//	   └─ refused, timeout, dropped, 4xx at greeting/
//	      EHLO/MAIL/DATA, TLS policy unmet (everyone)  ─▶ pending, next target
//
// Recipients still pending after the last target keep the last temporary
// error, so the queue retries them later. All recipients of one message that
// go to the same target share one transaction. When the connection is lost
// after the whole body went out but before the reply to the final dot, the
// Result says MaybeDelivered: a retry may duplicate the message.
//
// With Options.DKIM set, the message is signed once per Deliver call,
// before the first target, and a failure to sign defers it (BodyError):
// mail of a domain with a key never leaves unsigned.
//
// With Options.MTASTS set, direct delivery follows the recipient domains'
// MTA-STS policies (RFC 8461): under enforce, only the MX hosts the policy
// lists, over STARTTLS with a certificate valid for the MX host name. See
// sts.go.
//
// # Relay health, across calls
//
// Each relay is up, down (until DownUntil) or probing:
//
//	up ──connection failure, timeout, 4xx at greeting/EHLO/MAIL──▶ down
//	down ──DownUntil passes, next Deliver claims it──▶ probing
//	probing ──success──▶ up        probing ──failure──▶ down (backoff doubled)
//
// Down relays are skipped, so a dead primary costs one timeout, not one per
// message; only one Deliver at a time probes a relay whose down period has
// passed. When every relay is down, the message is deferred without dialling.
//
// # Connections
//
// After a transaction the connection goes back to a per-target idle pool
// (MaxIdlePerHost, IdleTimeout) and the next message to that target reuses
// it. A pooled connection found dead when reused is discarded and replaced by
// a fresh one without counting as a relay failure.
package courier

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
)

// TLS modes for Upstream.TLS and Options.DirectTLS.
const (
	TLSNone          = "none"          // never STARTTLS
	TLSOpportunistic = "opportunistic" // STARTTLS if offered, unverified; plaintext otherwise
	TLSRequired      = "required"      // STARTTLS with a verified certificate, or fail over
)

// Message is one queued message to deliver.
type Message struct {
	ID       string      // queue id, for logs
	From     string      // reverse-path, "" = null sender
	Rcpts    []string    // recipients to attempt now
	Size     int64       // body size in bytes
	Body     io.ReaderAt // the message (headers+body, CRLF line endings); read [0,Size)
	SMTPUTF8 bool        // needs SMTPUTF8
}

// Result is the outcome for one recipient.
type Result struct {
	Rcpt string
	// Err is nil when an upstream accepted the message for Rcpt; otherwise
	// an *smtperr.Error (a reply, or a synthetic one for DNS and policy
	// failures) or a *ConnError, *TLSError or *BodyError, which are
	// temporary. Use smtperr.Temporary to decide between retry and bounce.
	Err error
	// Upstream is the "host:port" that gave the final answer, "" when no
	// host answered (refused, timed out, DNS failure).
	Upstream string
	// MaybeDelivered is set when, in some attempt, the whole body was sent
	// but no reply to the final dot arrived.
	MaybeDelivered bool
	// MTASTS is the mode of the MTA-STS policy that applied to direct
	// delivery ("enforce" or "testing"), "" when none did.
	MTASTS string
}

// Upstream is a relay to deliver through.
type Upstream struct {
	Addr string // "host:port"
	TLS  string // TLSNone, TLSOpportunistic (default when empty) or TLSRequired
}

// Dialer opens network connections; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Resolver looks up mail exchangers and addresses; *net.Resolver is one.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Options configures a Courier. Zero values take the documented defaults.
type Options struct {
	Hostname       string         // EHLO name; default "localhost"
	Upstreams      []Upstream     // ordered; empty = direct MX delivery
	DirectTLS      string         // TLS mode for direct MX delivery; default opportunistic
	RootCAs        *x509.CertPool // for "required" verification; nil = system roots
	Dialer         Dialer         // default &net.Dialer{}
	Resolver       Resolver       // default &net.Resolver{}
	MXPort         int            // default 25
	ConnectTimeout time.Duration  // dial, greeting, EHLO and STARTTLS together; default 30s
	CommandTimeout time.Duration  // each command and each body write; default 5m
	DataTimeout    time.Duration  // the reply to the final dot; default 10m
	IdleTimeout    time.Duration  // how long a pooled connection is kept; default 30s
	MaxIdlePerHost int            // pooled connections per target; default 4
	DownBackoff    time.Duration  // first down period of a failed relay; default 30s
	DownBackoffMax time.Duration  // longest down period; default 10m
	Now            func() time.Time
	Logger         *slog.Logger // default discards
	// DKIM signs each message once per Deliver call, before the first
	// target (so after list processing); nil sends messages as they are.
	DKIM Signer
	// MTASTS looks up recipient domains' MTA-STS policies for direct
	// delivery (see sts.go); nil disables MTA-STS.
	MTASTS PolicySource
}

func (o *Options) setDefaults() {
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.DirectTLS == "" {
		o.DirectTLS = TLSOpportunistic
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{}
	}
	if o.Resolver == nil {
		o.Resolver = &net.Resolver{}
	}
	if o.MXPort == 0 {
		o.MXPort = 25
	}
	setDur(&o.ConnectTimeout, 30*time.Second)
	setDur(&o.CommandTimeout, 5*time.Minute)
	setDur(&o.DataTimeout, 10*time.Minute)
	setDur(&o.IdleTimeout, 30*time.Second)
	setDur(&o.DownBackoff, 30*time.Second)
	setDur(&o.DownBackoffMax, 10*time.Minute)
	if o.DownBackoffMax < o.DownBackoff {
		o.DownBackoffMax = o.DownBackoff
	}
	if o.MaxIdlePerHost == 0 {
		o.MaxIdlePerHost = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Courier delivers messages; it is safe for concurrent use.
type Courier struct {
	opts      Options
	log       *slog.Logger
	upstreams []*health // parallel to opts.Upstreams
	pool      *pool
}

// New returns a Courier for opts.
func New(opts Options) *Courier {
	opts.Upstreams = append([]Upstream(nil), opts.Upstreams...)
	opts.setDefaults()
	c := &Courier{opts: opts, log: opts.Logger}
	for i := range c.opts.Upstreams {
		u := &c.opts.Upstreams[i]
		if u.TLS == "" {
			u.TLS = TLSOpportunistic
		}
		c.upstreams = append(c.upstreams, &health{addr: u.Addr})
	}
	c.pool = newPool(opts.MaxIdlePerHost, opts.IdleTimeout, opts.Now)
	return c
}

// Close closes the idle connections. Deliver must not be called afterwards.
func (c *Courier) Close() error {
	c.pool.close()
	return nil
}

// Deliver attempts m for every recipient in m.Rcpts and returns one Result
// per recipient, in the same order.
func (c *Courier) Deliver(ctx context.Context, m *Message) []Result {
	res := make([]Result, len(m.Rcpts))
	var idx []int
	for i, r := range m.Rcpts {
		res[i].Rcpt = r
		if strings.ContainsAny(r, "\r\n<>") {
			res[i].Err = smtperr.New(550, [3]int{5, 1, 3}, "invalid recipient address %q", r)
			continue
		}
		idx = append(idx, i)
	}
	if strings.ContainsAny(m.From, "\r\n<>") {
		for _, i := range idx {
			res[i].Err = smtperr.New(550, [3]int{5, 1, 7}, "invalid sender address %q", m.From)
		}
		return res
	}
	if len(idx) == 0 {
		return res
	}
	sm, err := c.signed(m)
	if err != nil {
		for _, i := range idx {
			res[i].Err = err
		}
		return res
	}
	m = sm
	if len(c.upstreams) > 0 {
		c.deliverRelays(ctx, m, idx, res)
	} else {
		c.deliverDirect(ctx, m, idx, res)
	}
	return res
}

// deliverRelays tries the configured relays that are not down, in order.
func (c *Courier) deliverRelays(ctx context.Context, m *Message, idx []int, res []Result) {
	now := c.opts.Now()
	var targets []target
	var claimed []*health
	for i, h := range c.upstreams {
		switch h.admit(now) {
		case admitUp:
			targets = append(targets, c.relayTarget(i))
		case admitProbe:
			targets = append(targets, c.relayTarget(i))
			claimed = append(claimed, h)
		}
	}
	if len(targets) == 0 {
		// Every relay is within its down period (or being probed by another
		// delivery): defer without dialling, so that dead relays cost one
		// timeout per backoff period, not one per message.
		err := &ConnError{Stage: "not attempted", Err: errAllDown}
		for _, i := range idx {
			res[i].Err = err
		}
		return
	}
	defer func() {
		for _, h := range claimed {
			h.endProbe()
		}
	}()
	c.tryTargets(ctx, m, targets, idx, res)
}

func (c *Courier) relayTarget(i int) target {
	u := c.opts.Upstreams[i]
	host, _, err := net.SplitHostPort(u.Addr)
	if err != nil {
		host = u.Addr
	}
	return target{addr: u.Addr, name: host, label: u.Addr, tls: u.TLS, health: c.upstreams[i]}
}

// tryTargets moves the recipients idx through targets until each is decided.
func (c *Courier) tryTargets(ctx context.Context, m *Message, targets []target, idx []int, res []Result) {
	pending := idx
	for _, t := range targets {
		if len(pending) == 0 || ctx.Err() != nil {
			break
		}
		rcpts := make([]string, len(pending))
		for j, i := range pending {
			rcpts[j] = m.Rcpts[i]
		}
		out := c.attempt(ctx, t, m, rcpts)
		var next []int
		for j, i := range pending {
			o := out.rcpts[j]
			res[i].Err = o.err
			res[i].Upstream = o.upstream
			if o.maybe {
				res[i].MaybeDelivered = true
			}
			if smtperr.Temporary(o.err) {
				next = append(next, i)
			}
		}
		pending = next
		if out.stop {
			break
		}
	}
	for _, i := range pending {
		if res[i].Err == nil {
			cause := ctx.Err()
			if cause == nil {
				cause = fmt.Errorf("no target")
			}
			res[i].Err = &ConnError{Stage: "not attempted", Err: cause}
		}
	}
}
