package smtpd

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/msghdr"
	"github.com/posthorn/posthorn/internal/spool"
)

type session struct {
	s       *Server
	conn    *smtp.Conn
	sc      *sessionConn // nil when served without limitListener
	ip      netip.Addr
	ipStr   string // ip.String(), once per session
	helo    string
	tls     bool
	trusted bool   // may relay: trusted network or logged in
	service string // by network, or the service logged in
	user    string // AUTH user; "" = not logged in

	from  string
	utf8  bool
	rcpts []string
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// headerPool holds buffers for the header section and the fields added
// to it; one that grew beyond maxPooledHeader is left to the GC.
var headerPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledHeader = 64 << 10

func reply(code int, enh [3]int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: msg}
}

func (s *session) Reset() {
	s.from, s.utf8, s.rcpts = "", false, nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if err := CheckSender(from); err != nil {
		s.reject("mail", "bad sender address "+from)
		return err
	}
	if per := s.s.ratePerMinute(s.service); !s.s.opts.State.rates.take(s.service, per, s.s.opts.Now()) {
		s.reject("rate", "service "+s.service+" over its rate limit")
		return reply(450, [3]int{4, 7, 1}, "Message rate limit exceeded, try again later")
	}
	if opts != nil {
		if s.s.opts.MaxMessageSize > 0 && opts.Size > s.s.opts.MaxMessageSize {
			s.reject("mail", "declared size too large")
			return reply(552, [3]int{5, 3, 4}, "Message size exceeds fixed limit")
		}
		s.utf8 = opts.UTF8
	}
	s.from = from
	s.rcpts = s.rcpts[:0]
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.s.policy().Rcpt(s.trusted, to); err != nil {
		s.reject("rcpt", rcptReason(err, to))
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	o := &s.s.opts
	if d := o.DataTimeout; d > 0 {
		// The whole transfer, not each read: a client trickling its data
		// is cut off (and at max_session_time in any case).
		_ = s.conn.Conn().SetReadDeadline(time.Now().Add(d))
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	bp := headerPool.Get().(*[]byte)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
		if cap(*bp) <= maxPooledHeader {
			headerPool.Put(bp)
		}
	}()

	h, err := msghdr.ReadAppend(br, o.MaxHeaderSize, *bp)
	if err != nil {
		return s.dataError(err, nil)
	}
	*bp = h.Raw[:0] // keep what it grew to
	if h.Received > o.MaxReceived {
		s.reject("data", "too many Received: fields, mail loop")
		return reply(554, [3]int{5, 4, 6}, "Too many hops: mail loop detected")
	}
	now := o.Now()
	helo := s.conn.Hostname()
	env := &spool.Envelope{
		ID: spool.NewID(), From: s.from, Rcpts: append([]string(nil), s.rcpts...), Arrival: now,
		Client: s.ipStr, Helo: helo, SMTPUTF8: s.utf8 && needsUTF8(s.from, s.rcpts, h.Raw), Service: s.service,
		MessageID: h.MessageID,
	}
	if !h.HasMessageID {
		env.MessageID = msghdr.GeneratedID(env.ID, o.Hostname)
	}
	w, err := o.Spool.Create(env)
	if err != nil {
		return s.dataError(err, nil)
	}
	trace := msghdr.Trace{Helo: helo, ClientIP: s.ipStr, By: o.Hostname,
		With: "ESMTP", ID: w.ID(), Time: now}
	if s.tls {
		trace.With = "ESMTPS"
	}
	if len(env.Rcpts) == 1 {
		trace.For = env.Rcpts[0]
	}
	// Received:, the header as received, the missing fields and the blank
	// line, in one buffer after the header's.
	head := msghdr.AppendReceived(h.Raw[len(h.Raw):], trace)
	w.Write(head)
	w.Write(h.Raw)
	head = msghdr.AppendMissing(head[:0], h, w.ID(), o.Hostname, now)
	w.Write(append(head, "\r\n"...))
	if _, err := w.ReadFrom(br); err != nil {
		return s.dataError(err, w)
	}
	m, err := o.Spool.Commit(w)
	if err != nil {
		return s.dataError(err, nil)
	}
	o.MailLog.Record(maillog.Event{Kind: maillog.Accepted, QueueID: m.Env.ID, MessageID: env.MessageID,
		Service: env.Service, From: env.From, Rcpts: len(env.Rcpts), Size: m.BodyLen, Client: env.Client})
	return reply(250, [3]int{2, 0, 0}, "Ok: queued as "+m.Env.ID)
}

// dataError turns a failure during DATA into the right reply: the client's
// faults are 5xx, everything on our side 4xx.
func (s *session) dataError(err error, w *spool.Writer) error {
	if w != nil {
		w.Abort()
	}
	var se *smtp.SMTPError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		s.reject("data", se.Message)
		return se // e.g. go-smtp's 552 message too large
	case errors.Is(err, msghdr.ErrHeaderTooLarge):
		s.reject("data", "header section too large")
		return reply(552, [3]int{5, 3, 4}, "Header section exceeds fixed limit")
	case errors.Is(err, smtp.ErrDataTooLarge):
		s.reject("data", "message too large")
		return smtp.ErrDataTooLarge
	case errors.Is(err, smtp.ErrTooLongLine):
		s.reject("data", "line too long")
		return reply(500, [3]int{5, 5, 2}, "Line too long")
	case errors.As(err, &ne) && ne.Timeout():
		// data_timeout or max_session_time: the client was too slow.
		s.reject("data", "data timeout")
		if s.sc != nil {
			s.sc.closeAfterReply()
		}
		return reply(421, [3]int{4, 4, 2}, "Timeout waiting for message data, closing connection")
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		s.s.opts.Logger.Error("spool full", slog.String("error", err.Error()))
		s.reject("data", "spool full: "+err.Error())
		return reply(452, [3]int{4, 3, 1}, "Insufficient system storage, try again later")
	default:
		s.s.opts.Logger.Error("cannot queue message", slog.String("error", err.Error()))
		s.reject("data", "local error: "+err.Error())
		return reply(451, [3]int{4, 3, 0}, "Temporary local problem, try again later")
	}
}

func (s *session) reject(stage, reason string) {
	s.s.opts.MailLog.Record(maillog.Event{Kind: maillog.Rejected, Client: s.ipStr,
		Service: s.service, From: s.from, Stage: stage, Reply: reason})
}

// validAddress accepts local@domain without spaces or control characters,
// in valid UTF-8. The percent and bang forms, quoted local parts holding
// "@" and malformed address literals are refused (go-smtp drops source
// routes before we see the address).
func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > 512 || !utf8.ValidString(a) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c <= ' ' || c == 127 || c == '<' || c == '>' || c == ',' || c == ';' {
			return false
		}
	}
	local, domain := a[:at], a[at+1:]
	if strings.ContainsAny(local, "@%!") {
		return false // percent hack, bang path, quoted @: classic relay probes
	}
	if strings.HasPrefix(domain, "[") {
		return strings.HasSuffix(domain, "]")
	}
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	return !strings.ContainsAny(domain, "[]@\"\\")
}

// needsUTF8 reports whether a message declared SMTPUTF8 really needs it:
// a UTF-8 envelope address or header. A client library that declares it
// for every message (Go's net/smtp does when offered) must not get its
// ASCII mail bounced by an upstream without SMTPUTF8.
func needsUTF8(from string, rcpts []string, header []byte) bool {
	if !ascii(from) {
		return true
	}
	for _, r := range rcpts {
		if !ascii(r) {
			return true
		}
	}
	for _, c := range header {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
