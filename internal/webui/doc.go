// Package webui serves the list pages of the web interface: the lists
// index, a list's overview with its subscribe form, and, for the people who
// run a list, its settings (with preview, warnings and history), members,
// held posts, recent decisions and message trace.
//
// # Request flow
//
// The middleware of package web has already attached the Viewer (nil for
// an anonymous reader) and the CSRF token, and refused unsafe requests
// without a valid token. Every list handler then:
//
//	load list ─ missing ─────────────────────────────▶ 404
//	          └ access(viewer, list) ─ below need ────▶ 403 (404 for a private list the viewer has no role on)
//	                                  └ enough ───────▶ page or action ─▶ audit entry (actions)
//
// Access comes from the lists store, never from the session: a site admin
// may do everything; an owner row on the list grants the owner pages
// (settings, history, members, audit log) and the moderator pages; a
// moderator row grants the moderator pages (held posts, subscription
// requests, decisions, trace); a member row
// grants the member's own subscription settings. Anybody may see a public
// list's overview and subscribe.
//
// # Settings change states
//
//	GET settings ─▶ form ─POST─▶ invalid ─▶ form with errors next to fields
//	                            └ valid ─▶ preview (diff + warnings + reason)
//	preview ─POST apply─▶ list changed meanwhile ─▶ preview again
//	                     └ warnings not acknowledged / no reason ─▶ preview with errors
//	                     └ ChangeSettings ─▶ new version ─▶ audit ─▶ history
//
// # Subscribing
//
//	POST subscribe ─ past the limits (per client, per address) ─▶ 429, nothing sent
//	               └ Options.Subscribe ─ open ─────────────▶ member
//	                                   ─ confirm ──────────▶ mail with /lists/LIST/confirm/TOKEN
//	                                   ─ moderate ─────────▶ request for the moderators (/requests)
//	                                   ─ mail not sent ────▶ 503: recorded, ask again later
//	GET confirm/TOKEN ─▶ what will be confirmed ─POST─▶ Options.Confirm ─▶ member / waits for approval / left
//
//	GET/POST unsubscribe?address=A&token=T (List-Unsubscribe, RFC 8058 one-click) ─▶ not a member
//
// The confirmation and unsubscribe pages need no login (the token is the
// credential) and change nothing on GET. The subscribe limits are counted
// in memory, with the clock of Options.Now; the list's staff are not
// limited.
//
// Moderation goes through Options.Moderate, which the daemon wires to the
// list server so that an approved post is distributed before it leaves the
// queue.
package webui
