package smtpd

import (
	"net/netip"
	"slices"

	"github.com/emersion/go-smtp"
)

// The replies of AUTH that the configuration decides, shared by sessions
// and Policy.Login.
func authUnavailable() *smtp.SMTPError {
	return reply(502, [3]int{5, 5, 1}, "Authentication not available")
}

func authNeedsTLS() *smtp.SMTPError {
	return reply(538, [3]int{5, 7, 11}, "Encryption required for requested authentication mechanism")
}

func authInvalid() *smtp.SMTPError {
	return reply(535, [3]int{5, 7, 8}, "Authentication credentials invalid")
}

// AuthAllowed reports whether a client at ip may use AUTH: over TLS, from
// loopback, or anywhere when allowWithoutTLS.
func AuthAllowed(ip netip.Addr, tls, allowWithoutTLS bool) bool {
	return tls || ip.Unmap().IsLoopback() || allowWithoutTLS
}

// loginService returns the service that can log in (has a password) with
// the login name user, or nil.
func loginService(services []Service, user string) *Service {
	for i := range services {
		if c := &services[i]; c.Password != nil && c.loginName() == user {
			return c
		}
	}
	return nil
}

// Login is what the configuration decides about an AUTH as user from ip,
// assuming the right password (a configuration test names a login, never
// a password): the service the session then belongs to, or the reply that
// refuses it: 502 when no service can log in, 538 on a plain connection
// where TLS is required, 535 when no service has that login. The failure
// limits are not part of it: they depend on the traffic.
func (p *Policy) Login(ip netip.Addr, tls, allowWithoutTLS bool, user string) (service string, err *smtp.SMTPError) {
	if !slices.ContainsFunc(p.Services, func(s Service) bool { return s.Password != nil }) {
		return "", authUnavailable()
	}
	if !AuthAllowed(ip, tls, allowWithoutTLS) {
		return "", authNeedsTLS()
	}
	if svc := loginService(p.Services, user); svc != nil {
		return svc.Name, nil
	}
	return "", authInvalid()
}
