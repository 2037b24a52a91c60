package smtpd

import (
	"crypto/rand"
	"encoding/base64"
)

// bcryptAlphabet is the base64 alphabet of bcrypt hash strings.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// decoyHash returns a hash of the same algorithm and cost parameters as
// h (argon2id memory, passes, threads and lengths; bcrypt version and
// cost) with a random salt and a random digest that no password matches
// in practice. An unknown login name is verified against it, so that it
// costs as much as a wrong password for an existing one: the time of the
// answer does not tell whether a name exists. The result of that
// verification is never used.
func decoyHash(h *PasswordHash) *PasswordHash {
	if h == nil {
		return nil
	}
	if h.bcrypt != nil {
		// "$2b$12$" then 22 characters of salt (16 bytes) and 31 of
		// digest (23 bytes).
		salt, sum := make([]byte, 16), make([]byte, 23)
		rand.Read(salt)
		rand.Read(sum)
		enc := base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)
		s := string(h.bcrypt[:7]) + enc.EncodeToString(salt) + enc.EncodeToString(sum)
		return &PasswordHash{bcrypt: []byte(s)}
	}
	d := &PasswordHash{memory: h.memory, time: h.time, threads: h.threads,
		salt: make([]byte, len(h.salt)), sum: make([]byte, len(h.sum))}
	rand.Read(d.salt)
	rand.Read(d.sum)
	return d
}
