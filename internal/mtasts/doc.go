// Package mtasts discovers and caches SMTP MTA Strict Transport Security
// policies (RFC 8461) for direct MX delivery.
//
// # Discovery
//
// For a recipient domain, Cache.Lookup asks the Fetcher for the TXT record
// of _mta-sts.<domain> ("v=STSv1; id=..."), then, when the id is new to the
// cache, for https://mta-sts.<domain>/.well-known/mta-sts.txt (certificate
// valid for that host, no redirects, 200, text/plain, at most 64 KiB), and
// parses it (Parse: version, mode, mx patterns, max_age).
//
// # Cache states, per domain
//
//	none ──TXT found, fetch ok──▶ cached(id, expires = fetched + max_age)
//	cached ──TXT id unchanged, younger than max_age/2──▶ cached (no fetch)
//	cached ──TXT id changed, or older than max_age/2──▶ fetch ──ok──▶ cached(new)
//	                                                        └─fail──▶ cached (old kept)
//	cached ──TXT absent, invalid or lookup failed──▶ cached (used until it expires)
//	cached ──expires──▶ as none
//	none ──TXT found, fetch fails──▶ failed(id) for CacheOptions.RetryAfter:
//	                                  no policy applies, fetch not repeated
//
// An unexpired cached policy is always preferred to "no policy" when
// discovery fails (RFC 8461 section 5.1), so an attacker who blocks the
// TXT lookup or the HTTPS fetch cannot strip a policy the sender already
// knows. A domain withdraws its policy by publishing mode none.
//
// The cache lives in memory only: after a restart every domain is
// discovered afresh, and until then a first contact is not protected
// (trust on first use, as in the RFC). It holds at most
// CacheOptions.MaxEntries domains; expired entries are dropped first, then
// the least recently used.
//
// Policy.Match tells whether an MX host name is allowed by the policy; what
// the courier does with an enforce or testing policy is documented in
// package courier.
package mtasts
