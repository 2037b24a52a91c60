package configtest

import (
	"fmt"

	"github.com/posthorn/posthorn/internal/smtpd"
)

// addLogins adds the services that can log in with SMTP AUTH to the
// policy, after those found by network (which keep their order): a login
// never changes which service a network belongs to.
func (s *simulator) addLogins() {
	for _, svc := range s.cfg.Services {
		if svc.AuthPasswordHash == "" {
			continue
		}
		h, err := smtpd.ParsePasswordHash(svc.AuthPasswordHash)
		if err != nil {
			continue // refused by validation already
		}
		s.policy.Services = append(s.policy.Services, smtpd.Service{Name: svc.Name, Login: svc.Login(), Password: h})
	}
}

// login is the AUTH step of a case with a login: smtpd.Policy.Login with
// the right password assumed. The client uses STARTTLS when a certificate
// is configured. A login is refused as the daemon refuses it (502, 538,
// 535); one that succeeds may relay and belongs to its service.
func (s *simulator) login(user string, sub *submission) bool {
	tls := s.cfg.SMTP.TLSCertFile != ""
	svc, e := s.policy.Login(sub.ip, tls, !s.cfg.SMTP.RequireTLSForAuth, user)
	if e != nil {
		key := ""
		switch e.Code {
		case 538:
			key = "smtp.require_tls_for_auth"
		case 535:
			key = "test.login"
		}
		sub.refuse("auth", key, e)
		return false
	}
	key := s.loginKey(user)
	how := "on a loopback connection"
	switch {
	case tls:
		how = "after STARTTLS (smtp.tls_cert_file)"
	case !sub.ip.Unmap().IsLoopback():
		how = "without TLS (smtp.require_tls_for_auth = false)"
	}
	sub.c.Trail.Add("auth", key, "logged in as %s %s: may relay", user, how)
	sub.trusted, sub.c.Actual.Service = true, svc
	sub.c.Trail.Add("service", key, "%s: the service of login %s", svc, user)
	return true
}

// loginKey names the setting that gives a service the login name user.
func (s *simulator) loginKey(user string) string {
	for i, svc := range s.cfg.Services {
		if svc.AuthPasswordHash == "" || svc.Login() != user {
			continue
		}
		if svc.AuthUser != "" {
			return fmt.Sprintf("service[%d].auth_user", i)
		}
		return fmt.Sprintf("service[%d].name", i)
	}
	return ""
}
