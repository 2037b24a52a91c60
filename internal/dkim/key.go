package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"
)

// MinRSABits is the smallest RSA key New accepts (RFC 8301 requires at least
// 1024 for verifiers; 2048 is today's floor for signers).
const MinRSABits = 2048

// Key is one signing key from the configuration.
type Key struct {
	Domain   string // d=, the signing domain
	Selector string // s=, the DNS record is Selector._domainkey.Domain
	KeyFile  string // PEM private key: RSA (PKCS #1 or #8) or Ed25519 (PKCS #8)
	// Expire, when positive, adds x= (signature expiry) that long after
	// signing. It must exceed the queue's max_lifetime when signing happens
	// at enqueue time.
	Expire time.Duration
}

// KeyError is a key that cannot be used; it names the file.
type KeyError struct {
	File   string
	Domain string
	Reason string
	Err    error // the underlying error, if any
}

func (e *KeyError) Error() string {
	msg := fmt.Sprintf("dkim key %s (domain %s): %s", e.File, e.Domain, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *KeyError) Unwrap() error { return e.Err }

// loaded is a Key with its private key parsed.
type loaded struct {
	Key
	signer crypto.Signer
	algo   string // "rsa" or "ed25519"
}

// load reads and checks k's file.
func load(k Key) (*loaded, error) {
	fail := func(reason string, err error) (*loaded, error) {
		return nil, &KeyError{File: k.KeyFile, Domain: k.Domain, Reason: reason, Err: err}
	}
	if k.Domain == "" || !validName(k.Domain) {
		return fail(fmt.Sprintf("invalid domain %q", k.Domain), nil)
	}
	if !validName(k.Selector) {
		return fail(fmt.Sprintf("invalid selector %q", k.Selector), nil)
	}
	raw, err := os.ReadFile(k.KeyFile)
	if err != nil {
		return fail("cannot read", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return fail("no PEM block", nil)
	}
	var parsed any
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return fail("encrypted keys are not supported; store it unencrypted with mode 0600", nil)
	default:
		return fail(fmt.Sprintf("PEM block %q is not a private key", block.Type), nil)
	}
	if err != nil {
		return fail("cannot parse the key", err)
	}
	l := &loaded{Key: k}
	switch key := parsed.(type) {
	case *rsa.PrivateKey:
		if bits := key.N.BitLen(); bits < MinRSABits {
			return fail(fmt.Sprintf("RSA key of %d bits, want at least %d", bits, MinRSABits), nil)
		}
		if err := key.Validate(); err != nil {
			return fail("invalid RSA key", err)
		}
		l.signer, l.algo = key, "rsa"
	case ed25519.PrivateKey:
		l.signer, l.algo = key, "ed25519"
	default:
		return fail(fmt.Sprintf("unsupported key type %T (want RSA or Ed25519)", parsed), nil)
	}
	return l, nil
}

// record is the TXT record value that publishes l's public key.
func (l *loaded) record() (string, error) {
	var p []byte
	switch pub := l.signer.Public().(type) {
	case ed25519.PublicKey:
		p = pub // RFC 8463: the raw 32 bytes
	default:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		p = der
	}
	return "v=DKIM1; k=" + l.algo + "; p=" + base64.StdEncoding.EncodeToString(p), nil
}

// validName accepts a DNS name of letters, digits, hyphens, underscores
// and dots, without empty labels.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
