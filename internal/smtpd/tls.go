package smtpd

import (
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertStore holds the certificate the listeners present and reloads it
// from its files: on Reload, and on a handshake when the files' size or
// modification time changed since the last look (at most every Interval).
// A pair that does not load is logged and the previous one kept, so that a
// half-written renewal never takes TLS down.
type CertStore struct {
	certFile, keyFile string
	interval          time.Duration
	now               func() time.Time
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   fileStamp // of the files the current cert was read from
	checked time.Time
}

type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// NewCertStore loads the key pair; interval is how often a handshake may
// look at the files (default 1 minute); now and logger may be nil.
func NewCertStore(certFile, keyFile string, interval time.Duration, now func() time.Time, logger *slog.Logger) (*CertStore, error) {
	if interval <= 0 {
		interval = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &CertStore{certFile: certFile, keyFile: keyFile, interval: interval, now: now, logger: logger}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Files returns the certificate and key paths.
func (c *CertStore) Files() (certFile, keyFile string) { return c.certFile, c.keyFile }

// Reload reads the files now. On error the previous certificate stays.
func (c *CertStore) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loadLocked(c.stampFiles())
}

func (c *CertStore) loadLocked(st fileStamp) error {
	c.checked = c.now()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cert, c.stamp = &cert, st
	if cert.Leaf != nil {
		c.logger.Info("TLS certificate loaded", slog.String("file", c.certFile),
			slog.String("subject", cert.Leaf.Subject.String()), slog.Time("not_after", cert.Leaf.NotAfter))
	}
	return nil
}

func (c *CertStore) stampFiles() fileStamp {
	var st fileStamp
	if fi, err := os.Stat(c.certFile); err == nil {
		st.certMod, st.certSize = fi.ModTime(), fi.Size()
	}
	if fi, err := os.Stat(c.keyFile); err == nil {
		st.keyMod, st.keySize = fi.ModTime(), fi.Size()
	}
	return st
}

// Certificate returns the current certificate, first reloading it when
// the interval has passed and the files changed.
func (c *CertStore) Certificate() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.checked) >= c.interval {
		c.checked = now
		if st := c.stampFiles(); st != c.stamp {
			if err := c.loadLocked(st); err != nil {
				c.stamp = st // do not retry the same broken files on every handshake
				c.logger.Error("TLS certificate files changed but do not load; keeping the previous certificate",
					slog.String("file", c.certFile), slog.String("error", err.Error()))
			}
		}
	}
	return c.cert
}

// TLSConfig returns the server configuration of the listeners: TLS 1.2 or
// later, TLS 1.2 with forward-secret AEAD suites only, certificate from
// certs.
func TLSConfig(certs *CertStore) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{ // TLS 1.2 only; TLS 1.3 suites are not configurable and all good
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return certs.Certificate(), nil
		},
	}
}
