package lists

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Moderator passwords are stored as
// "pbkdf2-sha256$ITERATIONS$SALT$KEY" (base64, no padding).
const (
	pwIterations = 60000
	pwKeyLen     = 32
)

func hashPassword(rnd io.Reader, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("lists: password salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, pwIterations, pwKeyLen)
	if err != nil {
		return "", fmt.Errorf("lists: password hash: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(pwIterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// checkPassword reports whether password matches the stored hash, comparing
// the derived keys in constant time. A malformed hash is an error.
func checkPassword(stored, password string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false, fmt.Errorf("lists: unknown password hash format")
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false, fmt.Errorf("lists: bad password hash iterations %q", parts[1])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[2])
	if err != nil {
		return false, fmt.Errorf("lists: bad password hash salt: %w", err)
	}
	want, err := enc.DecodeString(parts[3])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("lists: bad password hash key")
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	if err != nil {
		return false, fmt.Errorf("lists: password hash: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
