package smtpd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
)

// Front owns the SMTP listeners and hands every accepted connection to the
// current Server. A reload builds a new Server from the new configuration
// and Swaps it in: listeners whose address did not change are kept (no
// connection is refused during the swap), sessions already open finish on
// the Server they started with, which then drains in the background.
//
// Each Server reads connections from its own handoff listener, so that
// go-smtp's Serve and Shutdown work unchanged on it. Connections from an
// implicit TLS listener are marked; the Server counts them against its
// limits and then starts TLS with its own TLSConfig.
type Front struct {
	logger *slog.Logger

	mu       sync.Mutex
	cur      *generation
	draining []*generation
	lns      map[string]*frontListener // by configured address
	closed   bool
	accepts  sync.WaitGroup
	serves   sync.WaitGroup
}

// frontListener is one bound address; implicit says whether TLS starts
// at connect there (it may change on reload without rebinding).
type frontListener struct {
	ln       net.Listener
	implicit atomic.Bool
}

type generation struct {
	srv *Server
	hl  *handoffListener
}

// NewFront returns a Front serving s.
func NewFront(s *Server, logger *slog.Logger) *Front {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Front{logger: logger, lns: make(map[string]*frontListener)}
	f.cur = f.startGeneration(s)
	return f
}

func (f *Front) startGeneration(s *Server) *generation {
	g := &generation{srv: s, hl: newHandoffListener()}
	f.serves.Add(1)
	go func() {
		defer f.serves.Done()
		if err := s.Serve(g.hl); err != nil {
			f.logger.Error("smtp server failed", slog.String("error", err.Error()))
		}
	}()
	return g
}

// Listen is ListenAll without implicit TLS listeners.
func (f *Front) Listen(addrs []string) error { return f.ListenAll(addrs, nil) }

// ListenAll makes the set of listening addresses equal to plain and
// implicitTLS (listeners where TLS starts at connect; the Server needs a
// TLSConfig): addresses already bound are kept, new ones bound, others
// closed. It binds every new address before closing any, and on a bind
// error closes what it bound and changes nothing.
func (f *Front) ListenAll(plain, implicitTLS []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("smtpd: front is shut down")
	}
	want := make(map[string]bool, len(plain)+len(implicitTLS))
	for _, a := range plain {
		want[a] = false
	}
	for _, a := range implicitTLS {
		want[a] = true
	}
	fresh := make(map[string]net.Listener)
	for a := range want {
		if _, ok := f.lns[a]; ok {
			continue
		}
		// No TCP keepalive on SMTP connections: the read timeout and
		// max_session_time already end a session whose client is gone,
		// and it saves four setsockopt calls per connection.
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), "tcp", a)
		if err != nil {
			for _, l := range fresh {
				l.Close()
			}
			return err
		}
		fresh[a] = ln
	}
	for a, fl := range f.lns {
		implicit, ok := want[a]
		if !ok {
			fl.ln.Close() // its accept loop ends
			delete(f.lns, a)
			f.logger.Info("smtp listener closed", slog.String("addr", a))
			continue
		}
		fl.implicit.Store(implicit)
	}
	for a, ln := range fresh {
		f.addLocked(a, ln, want[a])
		f.logger.Info("smtp listener opened", slog.String("addr", ln.Addr().String()), slog.Bool("implicit_tls", want[a]))
	}
	return nil
}

// AddListener serves an already bound listener under the name addr.
func (f *Front) AddListener(addr string, ln net.Listener) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(addr, ln, false)
}

// AddTLSListener serves an already bound implicit TLS listener under the
// name addr.
func (f *Front) AddTLSListener(addr string, ln net.Listener) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(addr, ln, true)
}

func (f *Front) addLocked(addr string, ln net.Listener, implicit bool) {
	fl := &frontListener{ln: ln}
	fl.implicit.Store(implicit)
	f.lns[addr] = fl
	f.accepts.Add(1)
	go func() {
		defer f.accepts.Done()
		f.acceptLoop(fl)
	}()
}

// Addrs returns the bound addresses by configured address.
func (f *Front) Addrs() map[string]net.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]net.Addr, len(f.lns))
	for a, fl := range f.lns {
		out[a] = fl.ln.Addr()
	}
	return out
}

func (f *Front) acceptLoop(fl *frontListener) {
	for {
		c, err := fl.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		if fl.implicit.Load() {
			c = implicitTLS{c}
		}
		f.handoff(c)
	}
}

// handoff gives c to the current generation; if that generation is being
// replaced meanwhile, to its successor.
func (f *Front) handoff(c net.Conn) {
	for {
		f.mu.Lock()
		g, closed := f.cur, f.closed
		f.mu.Unlock()
		if closed {
			c.Close()
			return
		}
		select {
		case g.hl.conns <- c:
			return
		case <-g.hl.done:
			// Swapped or shut down while we waited; look again.
		}
	}
}

// Swap makes s serve new connections. The previous Server stops accepting
// and its open sessions go on until they end or ctx is done (then they are
// closed). Swap returns at once; Shutdown waits for the draining servers.
func (f *Front) Swap(ctx context.Context, s *Server) {
	f.mu.Lock()
	old := f.cur
	f.cur = f.startGeneration(s)
	f.draining = append(f.draining, old)
	f.mu.Unlock()
	go func() {
		if err := old.srv.Shutdown(ctx); err != nil {
			f.logger.Warn("closed SMTP sessions of the previous configuration at the end of the grace period")
		}
		f.mu.Lock()
		for i, g := range f.draining {
			if g == old {
				f.draining = append(f.draining[:i], f.draining[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
	}()
}

// Shutdown closes every listener, then shuts down the current and draining
// servers: open sessions may finish until ctx is done.
func (f *Front) Shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	for _, fl := range f.lns {
		fl.ln.Close()
	}
	gens := append([]*generation{f.cur}, f.draining...)
	f.mu.Unlock()
	f.accepts.Wait()
	var errs []error
	for _, g := range gens {
		if err := g.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	f.serves.Wait()
	return errors.Join(errs...)
}

// handoffListener is a net.Listener fed by the Front.
type handoffListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "handoff" }
func (handoffAddr) String() string  { return "handoff" }
