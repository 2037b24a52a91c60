package syslogfwd

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// Options configure a Forwarder. Zero values take the documented defaults.
type Options struct {
	Address string      // collector "host:port"
	TLS     *tls.Config // nil: plain TCP; ServerName defaults to Address's host
	// Facility is one of "mail", "daemon", "user", "local0" … "local7";
	// default "mail" (an unknown name is logged and replaced by "mail").
	Facility string
	AppName  string // default "posthorn"; at most 48 printable ASCII characters
	Hostname string // default os.Hostname(); at most 255 printable ASCII characters
	ProcID   string // default the process id
	// Buffer is the number of records kept while the collector is away or
	// slow; beyond it the oldest are dropped. Default 10000.
	Buffer int
	// MailOnly forwards only mail-log records (attribute log="mail").
	MailOnly bool
	// Level is the lowest level forwarded. nil forwards exactly the
	// records the next handler accepts.
	Level slog.Leveler
	// Dial opens the TCP connection; default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	Now  func() time.Time // default time.Now; used when a record has no time
	// Logger receives the forwarder's own errors, at most one per
	// ErrorInterval. Default: discarded.
	Logger *slog.Logger
	// ReconnectMin and ReconnectMax bound the wait between connection
	// attempts, doubled after each failure; default 1s and 1m.
	ReconnectMin, ReconnectMax time.Duration
	// Timeout bounds a dial with its TLS handshake and each write; a
	// collector that stops reading for this long is reconnected. Default 30s.
	Timeout time.Duration
	// FlushTimeout bounds the flush when Run's context ends; default 2s.
	FlushTimeout time.Duration
	// ErrorInterval is the least time between two error logs; default 1m.
	ErrorInterval time.Duration
	// BatchBytes is the most bytes written at once; default 64 KiB.
	BatchBytes int
}

// facilities maps the facility names accepted by the configuration to their
// RFC 5424 codes.
func facilityCode(name string) (int, bool) {
	switch name {
	case "user":
		return 1, true
	case "mail":
		return 2, true
	case "daemon":
		return 3, true
	}
	if len(name) == 6 && name[:5] == "local" && name[5] >= '0' && name[5] <= '7' {
		return 16 + int(name[5]-'0'), true
	}
	return 0, false
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.AppName == "" {
		o.AppName = "posthorn"
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.ProcID == "" {
		o.ProcID = strconv.Itoa(os.Getpid())
	}
	if o.Buffer <= 0 {
		o.Buffer = 10000
	}
	if o.Dial == nil {
		d := &net.Dialer{KeepAlive: time.Minute}
		o.Dial = d.DialContext
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = time.Second
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = time.Minute
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = o.ReconnectMin
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 2 * time.Second
	}
	if o.ErrorInterval <= 0 {
		o.ErrorInterval = time.Minute
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 64 << 10
	}
	return o
}

// headerField makes s a valid header field of at most max characters:
// characters outside printable US-ASCII become "_", and an empty value is
// the NILVALUE "-".
func headerField(s string, max int) string {
	if s == "" {
		return "-"
	}
	b := []byte(s)
	if len(b) > max {
		b = b[:max]
	}
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	return string(b)
}
