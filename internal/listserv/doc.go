// Package listserv is the list server: a deliverer, with the courier's
// Deliver signature, that the queue hands the recipients on list domains
// to. Everything it sends (posts to members, notices) goes back into the
// relay queue through Options.Submit, so that list mail takes the same
// durable path as every other message.
//
// # One recipient
//
// Deliver resolves each recipient with lists.Store.ResolveAddress and
// returns one courier.Result per recipient:
//
//	unknown list, bad address           ─▶ 550 5.1.1
//	database or Submit failure          ─▶ 451 4.3.0 (the queue retries)
//	everything below done durably       ─▶ success
//
//	name@            post: Chain.Decide
//	   accept ─▶ distribute to every member with delivery enabled
//	   hold   ─▶ moderation queue (lists.Store.Hold); "awaiting approval"
//	             notice to the sender (at most SenderNoticesPerDay per
//	             sender, list and day); moderators told in batches
//	   reject ─▶ notice with the reason to the sender
//	   discard ─▶ nothing
//	name-request@    subscribe / unsubscribe / set digest on|off|plain|mime
//	                 / help
//	                 commands (subject, then the first body lines),
//	                 answered by mail
//	name-join@       subscribe the sender
//	name-leave@      mail the sender a token; the reply to it unsubscribes
//	                 (a From can be forged; the signed one-click link of
//	                 List-Unsubscribe needs no confirmation)
//	name-confirm+TOKEN@       Confirm (a subscription or an unsubscription)
//	                 (the web UI does the same with Server.Subscribe,
//	                 Unsubscribe and ConfirmToken: see subscribe.go)
//	name-owner@      forwarded to the owners
//	name-bounces+member=domain@   a bounce for that member (see bounce.go)
//	name-bounces+probe-TOKEN@     a bounce of a bounce probe (see probe.go)
//	name-bounces@    a bounce for the members it names as failed
//
// # Distribution and idempotency
//
// A post to distribute is known by (list, key), key being its Message-ID
// (or a digest of the message when it has none). The dist table remembers,
// per key, "distributing" with a cursor (the address of the last member
// whose copy was submitted) and then "done". Members are walked in address
// order; the cursor is saved after each page and when a Submit fails, so a
// retry of the same delivery (or a second copy of the same post) goes on
// after the last member served instead of sending twice. A crash between a
// Submit and the next cursor save repeats at most one page (at least once).
//
// Each page of up to pageSize (1,000) members becomes one spool message
// with all of them as recipients and Envelope.Personal set to the list:
// written and fsynced once. Each member's copy still differs: at delivery
// the queue asks Personalize (the queue's Personalizer) for the member's
// VERP envelope sender, lists.BounceAddress(list, member), and the
// List-Unsubscribe fields with a one-click link signed for that member
// (RFC 8058), puts those fields in front of the stored post and sends it
// in a transaction of its own. The shared copy in the spool carries no
// member's link. A page is submitted whole or not at all.
//
// # What members get
//
// prepare turns a post into the copy members get: approval fields and old
// list fields removed, subject prefix, Reply-To policy, DMARC mitigation
// (dmarc.go), header and footer (decorate.go), RFC 2369/2919 fields. The
// first time a post is distributed, one transaction records the
// distribution, the archive job (archive.go) and, when the list has digest
// members, the digest entry (digest.go); so a redelivered post is neither
// archived nor digested twice. Members in digest mode are skipped by the
// fan-out of posts and get the numbered digests that Tick sends, MIME or
// plain text (RFC 1153) as each chose.
//
// # Moderation
//
// Held posts wait in lists' moderation queue. Server.Moderate delivers
// (approve, accept-always) or notifies (reject) first and only then takes
// the post out of the queue, so a failure leaves it held. Moderators of a
// list receive at most one notice per ModeratorNoticeInterval listing the
// posts held since the last one; Tick sends the notices that were waiting
// for the interval and expires held posts past HoldExpiry (with a notice to
// the sender); it also retries archive jobs, sends the digests that are
// due and passes the bounce probes that got no bounce in time. The daemon calls Run, which ticks every TickInterval.
package listserv
