package lists

import (
	"context"
	"strings"
)

// DigestFormat is the form of the digests a member in digest mode gets.
type DigestFormat string

const (
	// DigestMIME is a MIME digest (RFC 2046 multipart/digest): each post
	// whole, attachments included, as a message/rfc822 part.
	DigestMIME DigestFormat = "mime"
	// DigestPlain is a plain-text digest (RFC 1153): the text of each post
	// with a few header fields, attachments replaced by a note.
	DigestPlain DigestFormat = "plain"
)

// Valid reports whether f is a known digest format.
func (f DigestFormat) Valid() bool { return f == DigestMIME || f == DigestPlain }

// ParseDigestFormat parses "mime" or "plain" (case-insensitive).
func ParseDigestFormat(s string) (DigestFormat, error) {
	f := DigestFormat(strings.ToLower(strings.TrimSpace(s)))
	if !f.Valid() {
		return "", &InvalidError{Field: "digest_format", Value: s, Problem: "want mime or plain"}
	}
	return f, nil
}

// SetDigestFormat sets the form of the digests member addr gets. It does
// not change the delivery mode: a member in regular mode keeps getting each
// post, and gets digests in this form after switching to digest mode.
func (s *Store) SetDigestFormat(ctx context.Context, list, addr string, f DigestFormat) error {
	if !f.Valid() {
		return &InvalidError{Field: "digest_format", Value: string(f), Problem: "want mime or plain"}
	}
	return s.updateMember(ctx, list, addr, RoleMember, `digest_format = ?`, string(f))
}
