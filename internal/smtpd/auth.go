package smtpd

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mechanisms offered, in the EHLO order.
var authMechanisms = []string{sasl.Plain, sasl.Login}

// authAllowed reports whether this connection may use AUTH: over TLS, from
// loopback, or anywhere when the configuration allows it.
func (s *session) authAllowed() bool {
	return AuthAllowed(s.ip, s.tls, s.s.opts.AllowAuthWithoutTLS)
}

// AuthMechanisms implements smtp.AuthSession: none (no AUTH in EHLO) when
// no service can log in or the connection is not protected.
func (s *session) AuthMechanisms() []string {
	if !s.s.auth || !s.authAllowed() {
		return nil
	}
	return authMechanisms
}

// Auth implements smtp.AuthSession.
func (s *session) Auth(mech string) (sasl.Server, error) {
	o := &s.s.opts
	if !s.s.auth {
		return nil, authUnavailable()
	}
	if !s.authAllowed() {
		s.reject("auth", "AUTH without TLS")
		return nil, authNeedsTLS()
	}
	if o.State.auth.blocked(s.ip, o.AuthFailureLimit, o.AuthFailureWindow, o.Now()) {
		s.reject("auth", "too many failed logins from "+s.ip.String())
		if s.sc != nil {
			s.sc.closeAfterReply()
		}
		return nil, reply(454, [3]int{4, 7, 0}, "Too many failed authentication attempts, try again later")
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, password string) error {
			if identity != "" && identity != user {
				if err := s.loginLocked(user); err != nil {
					return err
				}
				return s.loginFailed(user)
			}
			return s.login(user, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, reply(504, [3]int{5, 5, 4}, "Unsupported authentication mechanism")
}

// login checks user and password against the services; on success the
// session belongs to that service and may relay. A name under lockout is
// refused before any password is looked at. An unknown name is verified
// against the decoy hash, so that it costs the same as a wrong password.
func (s *session) login(user, password string) error {
	if err := s.loginLocked(user); err != nil {
		return err
	}
	svc := loginService(s.s.opts.Services, user)
	h := s.s.decoy
	if svc != nil {
		h = svc.Password
	}
	if h == nil || !s.verify(h, password) || svc == nil {
		return s.loginFailed(user)
	}
	s.service, s.user, s.trusted = svc.Name, user, true
	return nil
}

// loginLocked returns the 454 reply, and closes the connection after it,
// when user failed AuthFailureLimitPerUser times within AuthFailureWindow
// (from any address). Existing and unknown names lock alike, and every
// attempt is refused during the lockout, the right password too.
func (s *session) loginLocked(user string) error {
	o := &s.s.opts
	if !o.State.logins.locked(user, o.AuthFailureLimitPerUser, o.AuthFailureWindow, o.Now()) {
		return nil
	}
	s.reject("auth", "too many failed logins for "+printable(user))
	if s.sc != nil {
		s.sc.closeAfterReply()
	}
	return reply(454, [3]int{4, 7, 0}, "Too many failed authentication attempts, try again later")
}

// verify checks a password, at most two at a time per State: argon2id
// takes tens of MiB each.
func (s *session) verify(h *PasswordHash, password string) bool {
	sem := s.s.opts.State.verify
	sem <- struct{}{}
	defer func() { <-sem }()
	return s.s.verifyHash(h, password)
}

// loginFailed counts a failed login against the client address and the
// login name and logs it; the failure that locks the name says so, in the
// mail log and as a warning.
func (s *session) loginFailed(user string) error {
	o := &s.s.opts
	now := o.Now()
	o.State.auth.fail(s.ip, o.AuthFailureLimit, o.AuthFailureWindow, now)
	reason := "authentication failed for " + printable(user)
	if until := o.State.logins.fail(user, o.AuthFailureLimitPerUser, o.AuthFailureWindow, now); !until.IsZero() {
		reason += "; login locked until " + until.UTC().Format(time.RFC3339)
		o.Logger.Warn("SMTP AUTH login name locked after repeated failures",
			slog.String("user", printable(user)), slog.String("client", s.ip.String()),
			slog.Int("failures", o.AuthFailureLimitPerUser), slog.Duration("window", o.AuthFailureWindow),
			slog.Time("until", until))
	}
	s.reject("auth", reason)
	return authInvalid()
}

func (svc *Service) loginName() string {
	if svc.Login != "" {
		return svc.Login
	}
	return svc.Name
}

// printable returns s with control characters replaced and at most 64
// bytes, for the log.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 127 {
			return '?'
		}
		return r
	}, s)
}

// loginServer is the server side of the LOGIN mechanism (obsolete but the
// one many clients use): "Username:" and "Password:" challenges.
type loginServer struct {
	check func(user, password string) error
	user  string
	step  int
}

var errLoginDone = errors.New("sasl: LOGIN exchange already completed")

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response != nil { // initial response: the user name
			l.user = string(response)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errLoginDone
}

var _ smtp.AuthSession = (*session)(nil)
