// Package listapi is the JSON API for list administration under
// /api/v1/lists: the lists a user may see, a list's settings (partial
// updates with the web UI's validation, confirmation and history), its
// members, its held posts and its recent decisions. docs/api.md is the
// reference for clients.
//
// # Request flow
//
// The middleware of package web has already found who is asking: an
// Authorization: Bearer API token (accepted under /api/ only, no CSRF
// token needed since no browser sends the header by itself), or a session
// cookie, in which case every POST, PATCH and DELETE must also carry the
// session's CSRF token in the X-CSRF-Token header or it is refused with
// 403 before it gets here. Then:
//
//	no viewer ─────────────────────────────────────────────▶ 401
//	unknown path / method ─────────────────────────────────▶ 404 / 405
//	load list ─ missing ───────────────────────────────────▶ 404
//	          └ access(viewer, list) ─ private, no role ───▶ 404
//	                                 ─ below the need ─────▶ 403
//	                                 └ enough ─▶ read body (application/json,
//	                                             no unknown fields) ─ bad ─▶ 400 / 413 / 415
//	                                             └ act ─ invalid value ────▶ 422 naming the field
//	                                                   ─ needs confirmation
//	                                                     or stale rev ─────▶ 409
//	                                                   └ done ─▶ audit entry (mutations) ─▶ 200
//
// Access is the web UI's (internal/webui/authz.go) computed the same way
// from the lists store: site admins may do everything; an owner row grants
// settings and members; a moderator (or owner) row grants held posts and
// decisions; anybody logged in may see a list that is not private.
//
// # Member delivery mode
//
//	PATCH members/ADDRESS {mode?, digest_format?}
//	  ─ not an address, neither key, an unknown value ─▶ 400 naming the field
//	  ─ mode digest and the list sends no digests ─────▶ 409 field mode
//	  ─ no member row for the address ─────────────────▶ 404
//	  └ SetDigestFormat, SetDeliveryMode ─▶ audit members.mode ─▶ 200 the row
//
// # Settings change
//
//	PATCH {settings, reason, confirm, rev?, dry_run?}
//	  ─ a value of the wrong JSON type, or that lists.SetField refuses ─▶ 422 {field, fields}
//	  ─ rev given and the list changed since ────────────────────────────▶ 409 field rev
//	  ─ nothing differs ─────────────────────────────────────────────────▶ 200 changed=false
//	  ─ dry_run ─────────────────────────────────────────────────────────▶ 200 changes + warnings
//	  ─ no reason ───────────────────────────────────────────────────────▶ 422 field reason
//	  ─ lists.CheckSettings warns and confirm is false ──────────────────▶ 409 warnings
//	  └ lists.ChangeSettings (author = the viewer) ─▶ new version ─▶ audit ─▶ 200
//
// # Moderation
//
// Decisions on held posts go through Options.Moderate, which the daemon
// wires to the list server's ModerateMany (the function behind the web
// UI's held page and the CLI): an approved post is distributed and a
// rejected one's sender told before the post leaves the queue; a post
// whose delivery failed stays held and is reported as failed (503 for a
// single post).
package listapi
