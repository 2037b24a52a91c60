package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// Options configure a Store. Zero values take the documented defaults.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand is the source of tokens and salts; crypto/rand when nil.
	Rand io.Reader
	// Logger receives unexpected errors; slog.Default() when nil.
	Logger *slog.Logger
	// Params are the argon2id parameters for new hashes (DefaultParams() when
	// zero). Existing hashes are checked with the parameters stored in them.
	Params Params
	// MaxHashing bounds the password hashes computed at once (each takes
	// Params.Memory); runtime.NumCPU() when 0.
	MaxHashing int

	// AccountFailures failed logins of one address within FailureWindow lock
	// the account for LockFor; IPFailures failures from one client IP lock
	// that IP. Defaults: 5, 20, 15 minutes, 15 minutes.
	AccountFailures int
	IPFailures      int
	FailureWindow   time.Duration
	LockFor         time.Duration

	// IdleTimeout ends a session not used for that long (12h); MaxLifetime
	// ends it that long after login whatever its use (7 days).
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// ResetTTL is how long a password reset link is good for (1h);
	// ResetsPerHour bounds the reset mails sent to one account (3).
	ResetTTL      time.Duration
	ResetsPerHour int
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Params == (Params{}) {
		o.Params = DefaultParams()
	}
	if o.MaxHashing <= 0 {
		o.MaxHashing = runtime.NumCPU()
	}
	setDefault(&o.AccountFailures, 5)
	setDefault(&o.IPFailures, 20)
	setDefault(&o.FailureWindow, 15*time.Minute)
	setDefault(&o.LockFor, 15*time.Minute)
	setDefault(&o.IdleTimeout, 12*time.Hour)
	setDefault(&o.MaxLifetime, 7*24*time.Hour)
	setDefault(&o.ResetTTL, time.Hour)
	setDefault(&o.ResetsPerHour, 3)
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Store is the accounts database. Build it with New; it is safe for
// concurrent use.
type Store struct {
	db   *sql.DB
	opts Options
	// hashing is a semaphore bounding concurrent argon2 computations.
	hashing chan struct{}
	// dummy is a hash of a random password, checked for unknown addresses
	// so that they cost as much as known ones; made on first use, so that
	// a command that logs nobody in does not pay for it.
	dummy func() (string, error)
}

// New applies the "accounts" migrations to db and returns a Store over it.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	opts.defaults()
	if err := opts.Params.valid(); err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, db, "accounts", migrations()); err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: opts, hashing: make(chan struct{}, opts.MaxHashing)}
	s.dummy = sync.OnceValues(func() (string, error) {
		pw, err := s.randomToken()
		if err != nil {
			return "", err
		}
		return s.hash(context.Background(), pw)
	})
	return s, nil
}

func (s *Store) now() time.Time { return s.opts.Now() }

// randomToken returns 256 random bits, base64url without padding.
func (s *Store) randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.opts.Rand, b); err != nil {
		return "", fmt.Errorf("accounts: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash is what is stored for a token.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func dbErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("accounts: %w", err)
}
