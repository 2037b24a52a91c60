package smtpd

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
)

// State is what outlives one Server: the open connections (in total and
// per client address), failed logins per client address and per login
// name, and the message rates of the services. A reload hands the same
// State to the new Server, so that sessions still open under the old
// configuration count against the limits and a client cannot reset its
// failure count by waiting for a reload.
type State struct {
	mu     sync.Mutex
	active int
	perIP  map[netip.Addr]int

	auth   authFailures
	logins loginFailures
	rates  rates
	// verify bounds concurrent password hash verifications (argon2id
	// costs memory).
	verify chan struct{}
}

// NewState returns an empty State.
func NewState() *State {
	return &State{perIP: make(map[netip.Addr]int), auth: authFailures{m: make(map[netip.Addr][]time.Time)},
		rates: rates{m: make(map[string]*bucket)}, verify: make(chan struct{}, 2)}
}

// Connections returns the open connections in total and from ip.
func (st *State) Connections(ip netip.Addr) (total, fromIP int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.active, st.perIP[ip]
}

// admit counts a new connection from ip unless that exceeds max (total)
// or perIP (0 = no bound); it returns why not, or "".
func (st *State) admit(ip netip.Addr, max, perIP int) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case max > 0 && st.active >= max:
		return "too many connections"
	case perIP > 0 && st.perIP[ip] >= perIP:
		return "too many connections from " + ip.String()
	}
	st.active++
	st.perIP[ip]++
	return ""
}

func (st *State) release(ip netip.Addr) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.active--
	if st.perIP[ip]--; st.perIP[ip] <= 0 {
		delete(st.perIP, ip)
	}
}

// implicitTLS marks a connection accepted on an implicit TLS listener; the
// Server starts TLS on it after counting it.
type implicitTLS struct{ net.Conn }

// implicitListener marks every connection of an implicit TLS listener.
type implicitListener struct{ net.Listener }

func (l implicitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return implicitTLS{c}, nil
}

// limitListener admits connections within the limits, refusing the others
// with a 421 (on an implicit TLS listener: by closing them), and wraps the
// admitted ones in a sessionConn.
type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	o := &l.s.opts
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		raw, implicit := c, false
		if it, ok := c.(implicitTLS); ok {
			raw, implicit = it.Conn, true
		}
		ip := remoteIP(raw.RemoteAddr())
		if why := o.State.admit(ip, o.MaxConnections, o.MaxConnectionsPerIP); why != "" {
			if implicit {
				_ = raw.Close()
			} else {
				go refuse(raw, o.Hostname)
			}
			o.MailLog.Record(maillog.Event{Kind: maillog.Rejected, Client: ip.String(),
				Service: l.s.policy().ServiceOf(ip), Stage: "connect", Reply: why})
			continue
		}
		sc := newSessionConn(raw, l.s, ip)
		if implicit {
			if o.TLSConfig == nil {
				_ = sc.Close()
				continue
			}
			return tls.Server(sc, o.TLSConfig), nil
		}
		return sc, nil
	}
}

func refuse(c net.Conn, host string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "421 4.7.0 "+host+" Too many connections, try again later\r\n")
	_ = c.Close()
}

// sessionConn is an admitted connection: it releases its count on Close,
// ends at MaxSessionTime whatever the client does, and can be told to
// close after the next reply is written.
type sessionConn struct {
	net.Conn
	s     *Server
	ip    netip.Addr
	timer *time.Timer
	once  sync.Once

	mu             sync.Mutex
	closeAfterNext bool
	sessions       int
}

// firstSession reports whether go-smtp starts the connection's first
// session (not the one after STARTTLS).
func (c *sessionConn) firstSession() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions++
	return c.sessions == 1
}

func newSessionConn(c net.Conn, s *Server, ip netip.Addr) *sessionConn {
	sc := &sessionConn{Conn: c, s: s, ip: ip}
	if d := s.opts.MaxSessionTime; d > 0 {
		sc.mu.Lock() // the timer may fire before the assignment
		defer sc.mu.Unlock()
		sc.timer = time.AfterFunc(d, func() {
			s.opts.MailLog.Record(maillog.Event{Kind: maillog.Rejected, Client: ip.String(),
				Service: s.policy().ServiceOf(ip), Stage: "session", Reply: "maximum session time reached"})
			_ = sc.Close()
		})
	}
	return sc
}

// closeAfterReply makes the connection close once the next write (the
// reply being prepared) is done.
func (c *sessionConn) closeAfterReply() {
	c.mu.Lock()
	c.closeAfterNext = true
	c.mu.Unlock()
}

func (c *sessionConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	closing := c.closeAfterNext
	c.mu.Unlock()
	if closing {
		_ = c.Close()
	}
	return n, err
}

func (c *sessionConn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		t := c.timer
		c.mu.Unlock()
		if t != nil {
			t.Stop()
		}
		c.s.opts.State.release(c.ip)
	})
	return c.Conn.Close()
}

// sessionConnOf finds the sessionConn under a connection go-smtp holds
// (itself, or a TLS connection over it).
func sessionConnOf(c net.Conn) *sessionConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, _ := c.(*sessionConn)
	return sc
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
