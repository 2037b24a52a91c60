package config

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// validateSecurity checks the TLS, AUTH and per-client limit settings of
// [smtp]; plain holds the keys of smtp.listen by address.
func (s *SMTP) validateSecurity(errs *Errors, plain map[string]string) {
	s.ImplicitTLSListen = nonNil(s.ImplicitTLSListen)
	seen := make(map[string]string)
	for i, addr := range s.ImplicitTLSListen {
		key := indexKey("smtp.implicit_tls_listen", i)
		switch msg := checkListen(addr); {
		case msg != "":
			errs.add(key, "%s", msg)
		case seen[addr] != "":
			errs.add(key, "%q is listed twice (also %s)", addr, seen[addr])
		case plain[addr] != "":
			errs.add(key, "%q is also in %s: one listener is either plain or implicit TLS", addr, plain[addr])
		}
		seen[addr] = key
	}
	switch {
	case (s.TLSCertFile == "") != (s.TLSKeyFile == ""):
		if s.TLSCertFile == "" {
			errs.add("smtp.tls_cert_file", "must be set with smtp.tls_key_file")
		} else {
			errs.add("smtp.tls_key_file", "must be set with smtp.tls_cert_file")
		}
	case s.TLSCertFile != "":
		if _, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile); err != nil {
			errs.add("smtp.tls_cert_file", "cannot load the certificate and key: %v", err)
		}
	case len(s.ImplicitTLSListen) > 0:
		errs.add("smtp.implicit_tls_listen", "needs a certificate: set smtp.tls_cert_file and smtp.tls_key_file")
	}
	positive(errs, "smtp.tls_reload_interval", int64(s.TLSReloadInterval), s.TLSReloadInterval.String())
	positive(errs, "smtp.data_timeout", int64(s.DataTimeout), s.DataTimeout.String())
	if s.MaxConnectionsPerIP < 0 {
		errs.add("smtp.max_connections_per_ip", "must not be negative (0 = no bound), is %d", s.MaxConnectionsPerIP)
	}
	positive(errs, "smtp.auth_failure_limit", int64(s.AuthFailureLimit), strconv.Itoa(s.AuthFailureLimit))
	positive(errs, "smtp.auth_failure_window", int64(s.AuthFailureWindow), s.AuthFailureWindow.String())
	if s.AuthFailureLimitPerUser < 0 {
		errs.add("smtp.auth_failure_limit_per_user", "must not be negative (0 = no per-name limit), is %d", s.AuthFailureLimitPerUser)
	}
}

// validateServiceAuth checks the SMTP AUTH and rate settings of a service.
func validateServiceAuth(errs *Errors, key string, s *Service, logins map[string]string) {
	if s.MaxMessagesPerMinute < 0 {
		errs.add(key+".max_messages_per_minute", "must not be negative (0 = no bound), is %d", s.MaxMessagesPerMinute)
	}
	if s.AuthUser != "" && (len(s.AuthUser) > 256 || strings.ContainsAny(s.AuthUser, " \t\r\n\x00")) {
		errs.add(key+".auth_user", "%q is not a user name: no spaces or control characters, at most 256 bytes", s.AuthUser)
	}
	if s.AuthPasswordHash == "" {
		if s.AuthUser != "" {
			errs.add(key+".auth_user", "is set but auth_password_hash is not: the service cannot log in")
		}
		return
	}
	if msg := checkPasswordHash(s.AuthPasswordHash); msg != "" {
		errs.add(key+".auth_password_hash", "%s", msg)
	}
	login := s.Login()
	if other, dup := logins[login]; dup {
		errs.add(key+".auth_user", "%q is also the login of %s", login, other)
	}
	logins[login] = key
}

// checkPasswordHash returns why s is not an argon2id or bcrypt hash in
// their usual string forms, or "". It never shows s.
func checkPasswordHash(s string) string {
	const want = `must be an argon2id hash ("$argon2id$v=19$m=65536,t=3,p=4$SALT$HASH") or a bcrypt hash ("$2b$12$...")`
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil || len(s) != 60 {
			return "malformed bcrypt hash: " + want
		}
		return ""
	case strings.HasPrefix(s, "$argon2id$"):
		if msg := checkArgon2id(s); msg != "" {
			return "malformed argon2id hash: " + msg
		}
		return ""
	}
	return want
}

func checkArgon2id(s string) string {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return `want "$argon2id$v=19$m=…,t=…,p=…$SALT$HASH"`
	}
	var m, t, p uint64
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); n != 3 || err != nil {
		return `parameters must be "m=KiB,t=passes,p=lanes"`
	}
	if m < 8 || m > 4<<20 || t < 1 || t > 100 || p < 1 || p > 255 {
		return "parameters out of range (m from 8 to 4194304 KiB, t from 1 to 100, p from 1 to 255)"
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	sum, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(sum) < 16 {
		return "salt (at least 8 bytes) and hash (at least 16 bytes) must be unpadded base64"
	}
	return ""
}
