package accounts

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams are the parameters of new password hashes: 32 MiB, 2
// passes, 1 thread. On the 2-core AMD EPYC build machine one hash costs
// about 40 ms (BenchmarkHash), which bounds a guessing attack on a stolen
// database to ~25 guesses per second per core, and costs a user nothing.
// Concurrent hashes are bounded by Options.MaxHashing, so memory stays
// below MaxHashing × 32 MiB whatever the login rate.
func DefaultParams() Params { return Params{Memory: 32 * 1024, Time: 2, Threads: 1} }

func (p Params) valid() error {
	if p.Memory < 8*uint32(p.Threads) || p.Memory < 64 || p.Time < 1 || p.Threads < 1 {
		return &InvalidError{Field: "argon2 parameters", Problem: fmt.Sprintf("%+v too small", p)}
	}
	return nil
}

const (
	saltLen = 16
	keyLen  = 32
	// MinPassword and MaxPassword bound a password's length in characters.
	MinPassword = 10
	MaxPassword = 1024
)

// checkPassword enforces the length rules.
func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return &InvalidError{Field: "password", Problem: "not valid UTF-8"}
	case n < MinPassword:
		return &InvalidError{Field: "password", Problem: fmt.Sprintf("at least %d characters, please", MinPassword)}
	case n > MaxPassword:
		return &InvalidError{Field: "password", Problem: fmt.Sprintf("at most %d characters", MaxPassword)}
	}
	return nil
}

// acquire takes a hashing slot, or fails when ctx ends first.
func (s *Store) acquire(ctx context.Context) (func(), error) {
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hash returns the encoded argon2id hash of pw with a fresh salt:
// $argon2id$v=19$m=MEM,t=TIME,p=THREADS$SALT$KEY (base64 without padding).
func (s *Store) hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(s.opts.Rand, salt); err != nil {
		return "", fmt.Errorf("accounts: random: %w", err)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	p := s.opts.Params
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// decodeHash parses an encoded hash.
func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	bad := &InvalidError{Field: "password hash", Problem: "not an argon2id hash"}
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, bad
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, bad
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.valid() != nil {
		return p, nil, nil, bad
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, bad
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, bad
	}
	// Refuse absurd parameters from a tampered row rather than allocate them.
	if p.Memory > 4*1024*1024 || p.Time > 64 {
		return p, nil, nil, bad
	}
	return p, salt, key, nil
}

// verify reports whether pw matches encoded, in constant time for the
// comparison. A malformed hash is an error, never a match.
func (s *Store) verify(ctx context.Context, encoded, pw string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}
