// Package archiveweb serves the reading pages of the list archives: the
// months of a list, a month by date, by thread and by author, a message
// with its decoded body and attachments, tombstones of deleted messages,
// an Atom feed, search (per list and site-wide), the permalink and
// pipermail redirects, and deletion by the people who own a list.
//
// # URLs
//
// A list is named by its posting address, as in /lists/{list} of the list
// pages and as the archive store keys it:
//
//	/archive/                              archives the viewer may read, site search form
//	/archive/search?q=&list=&from=&since=&until=
//	/archive/{list}/                       months with counts
//	/archive/{list}/{yyyy}/{mm}/?by=date|thread|author
//	/archive/{list}/{number}               message (410 tombstone when deleted)
//	/archive/{list}/{number}/attachments/{index}
//	/archive/{list}/m/{permalink}          301 to the numbered page
//	/archive/{list}/feed.atom              latest 50 messages
//	/archive/{list}/search?q=&from=&since=&until=
//	/pipermail/{name}/...                  301 to the pages above (Mailman 2 links)
//
// # Request flow
//
// The middleware of package web has attached the Viewer (nil for an
// anonymous reader) and refused unsafe requests without the CSRF token.
// Every archive handler then:
//
//	resolve list ─ unknown ───────────────────────────────▶ 404
//	             └ access(viewer, list) ─ private archive, anonymous ─▶ 303 /login?next=…
//	                                     ├ private archive, no role ──▶ 403
//	                                     └ may read ─▶ page (addresses obfuscated unless
//	                                                   the viewer has a role on the list)
//
// Roles come from the lists store (owner, moderator and member rows for
// Viewer.Email); a site admin has every role. An archive is private when
// the list's archive_policy is private (or none: what was archived before
// stays readable to members); Options.Private overrides. The archives
// index and the site-wide search leave out lists that are not advertised,
// except for viewers with a role on them.
// Deleting a message needs the owner role and leaves a tombstone.
//
// # Safety
//
// Everything taken from a message is untrusted. Text goes through
// html/template; an HTML body is shown only as internal/sanitize's output;
// search snippets are escaped before their match markers become <mark>;
// attachments are served only as downloads (Content-Disposition:
// attachment, nosniff, a sandboxing CSP) with a content type from a short
// list of inert types, everything else as application/octet-stream.
package archiveweb
