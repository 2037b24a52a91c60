// Package lists keeps mailing lists, their members and pending
// subscriptions in the embedded store, and decides what happens to a post
// with an ordered rule chain.
//
// # Lists and addresses
//
// A list is name@domain on a list domain. Its companion addresses are
// derived from the posting address: name-request (commands), name-owner,
// name-bounces (VERP: name-bounces+local=domain@listdomain), name-confirm+TOKEN,
// name-join and name-leave (also name-subscribe and name-unsubscribe).
// ParseAddress maps any of them back to the list and a role.
//
// # Members
//
// A member row is (list, address, role): one address can be both member and
// owner. Roles are member, moderator, owner and nonmember (a known
// non-subscriber with a moderation action of its own). Each row has a
// delivery status and an optional moderation action; nil means the list's
// default for the role.
//
// Members pages by key (address, role); MemberQuery.Prefix selects by the
// start of the address or display name through index ranges (see
// members_prefix.go), MemberQuery.Search by substring with a scan.
//
// # Subscription states
//
//	Subscribe ─ open ──────────────────────────────────────▶ member
//	          ─ confirm ──────────▶ pending(confirm) ─Confirm─▶ member
//	          ─ moderate ─────────▶ pending(approve) ─ApproveSubscription─▶ member
//	          ─ confirm-then-moderate ▶ pending(confirm) ─Confirm─▶ pending(approve) ─Approve─▶ member
//
// A confirmation token is random; only its SHA-256 is stored, with an expiry.
// Unsubscribe removes the member role at once; UnsubscribeToken signs
// (list, address) with the site secret for web links and RFC 8058 one-click.
// RequestUnsubscribe (for requests by mail, whose From can be forged)
// stores a token instead, and Confirm with it unsubscribes.
//
// A member receives each post (mode regular) or digests (mode digest,
// SetDeliveryMode); with digests off for the list, digest members get
// each post. A digest member's DigestFormat (SetDigestFormat) picks the
// MIME (default) or the plain-text (RFC 1153) form; it is kept while the
// member is in regular mode.
//
// # Posting rule chain
//
// Chain.Decide evaluates the rules in the order RuleOrder returns, the same
// meaning as Mailman 3's default posting chain:
//
//	approved            moderator password in Approved:/Approve: or first body line → accept
//	emergency           list in emergency moderation → hold
//	loop                X-BeenThere:/List-Post: names this list → discard
//	banned-address      a sender matches the ban list (exact or ^regex) → discard
//	member-moderation   poster is a member: its action, else the list default
//	                    (defer continues down the chain)
//	header-match        first matching header rule: its own action
//	nonmember-moderation poster is not a member: its nonmember action, else the
//	                    list default (hold)
//	administrivia, implicit-destination, max-recipients, max-size, no-subject,
//	suspicious-header   record only; if any hit → hold
//	(end)               accept
//
// The first rule that decides ends the chain. A rule that fails (a database
// error, say) holds the post ("fail closed"), is logged and counted. Every
// decision is stored in the decisions table with the rules evaluated, so an
// owner can see why a post was held; Evaluate does the same without storing
// (for dry runs).
package lists
