package smtpd

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// PasswordHash is a parsed argon2id or bcrypt password hash.
type PasswordHash struct {
	bcrypt []byte // the whole bcrypt string, or nil
	// argon2id parameters
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	sum     []byte
}

// ErrBadHash is returned for a string that is not a supported hash.
var ErrBadHash = errors.New(`not an argon2id ("$argon2id$v=19$m=…,t=…,p=…$SALT$HASH") or bcrypt ("$2b$…") hash`)

// ParsePasswordHash parses "$argon2id$v=19$m=KiB,t=N,p=N$SALT$HASH"
// (unpadded base64) or a bcrypt hash ("$2a$", "$2b$", "$2y$").
func ParsePasswordHash(s string) (*PasswordHash, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadHash, err)
		}
		return &PasswordHash{bcrypt: []byte(s)}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		parts := strings.Split(s, "$")
		if len(parts) != 6 || parts[2] != "v=19" {
			return nil, ErrBadHash
		}
		var h PasswordHash
		if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); n != 3 || err != nil {
			return nil, ErrBadHash
		}
		if h.memory < 8 || h.memory > 4<<20 || h.time < 1 || h.time > 100 || h.threads < 1 {
			return nil, ErrBadHash
		}
		var err1, err2 error
		h.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
		h.sum, err2 = base64.RawStdEncoding.DecodeString(parts[5])
		if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.sum) < 16 {
			return nil, ErrBadHash
		}
		return &h, nil
	}
	return nil, ErrBadHash
}

// Verify reports whether password matches, in time independent of where
// it differs.
func (h *PasswordHash) Verify(password string) bool {
	if h.bcrypt != nil {
		return bcrypt.CompareHashAndPassword(h.bcrypt, []byte(password)) == nil
	}
	sum := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.sum)))
	return subtle.ConstantTimeCompare(sum, h.sum) == 1
}

// HashPassword returns the argon2id hash of password with salt, in the
// form ParsePasswordHash reads (for tests and tools; 64 MiB, 3 passes).
func HashPassword(password string, salt []byte) string {
	const m, t, p = 64 << 10, 3, 4
	sum := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}
