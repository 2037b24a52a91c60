// Package dkim signs outgoing mail with DKIM (RFC 6376) for the sender
// domains that have a key, using github.com/emersion/go-msgauth/dkim.
//
// # Keys
//
// Each configured Key names a domain, a selector and a PEM file holding an
// RSA (2048 bits or more; PKCS #1 or PKCS #8) or Ed25519 (PKCS #8, RFC 8463)
// private key. New loads and checks every key at once and names the file in
// every error, so a bad key stops start-up or a reload instead of sending
// unsigned mail later.
//
// # Which domain signs
//
// For a message, the signing domain is the domain of the address in its
// RFC 5322 From field (what DMARC aligns with); when the field is missing or
// unparsable, the envelope sender's domain. When that exact domain has no
// key, its parent domains are tried (mail.example.org falls back to
// example.org, which DMARC's relaxed alignment accepts). A message whose
// domain has no key passes unsigned.
//
// # Rotation
//
// Every selector configured for the signing domain signs: a domain with two
// [[dkim]] entries gets two DKIM-Signature fields. To rotate, publish the new
// selector's record, add its key (both sign, so receivers that still cache
// the old record or do not see the new one yet verify one signature), then
// remove the old key from the configuration, and its DNS record a few days
// later (after the longest queue lifetime). The cost is a second signature
// only while both are configured.
//
// # What is signed
//
// Relaxed/relaxed canonicalisation, SHA-256. The h= list holds, of the
// fields present in the message, From, To, Cc, Subject, Date, Message-ID,
// Reply-To, In-Reply-To, References, the List-* fields, MIME-Version and
// the Content-* fields — each as often as it occurs — and From once more,
// so that a From field added later breaks the signature (over-signing).
//
// # Where it runs
//
// The courier signs at delivery time (Options.DKIM), so the signature
// covers the message exactly as it leaves: after list processing (subject
// tag, footer, list headers) and for every path into the queue (SMTP,
// sendmail, list fan-out, notices). Signature prepends the fields to a
// message held elsewhere; Sign writes a signed copy.
package dkim
