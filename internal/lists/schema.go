package lists

// migrations are the ordered schema steps of the "lists" component.
// Append only: never edit a released step.
func migrations() []string {
	return []string{
		// 1: lists. name and domain are stored lowercased; settings is the
		// Settings JSON; rev increases on every change (cache key).
		`CREATE TABLE lists (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			domain TEXT NOT NULL,
			display_name TEXT NOT NULL DEFAULT '',
			description TEXT NOT NULL DEFAULT '',
			settings TEXT NOT NULL,
			moderator_password TEXT NOT NULL DEFAULT '',
			rev INTEGER NOT NULL DEFAULT 1,
			created INTEGER NOT NULL,
			UNIQUE (name, domain)
		)`,
		// 2: members. addr_key is the lowercased address; one row per role.
		`CREATE TABLE members (
			id INTEGER PRIMARY KEY,
			list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
			address TEXT NOT NULL,
			addr_key TEXT NOT NULL,
			display_name TEXT NOT NULL DEFAULT '',
			role TEXT NOT NULL,
			delivery TEXT NOT NULL DEFAULT 'enabled',
			moderation TEXT,
			created INTEGER NOT NULL,
			UNIQUE (list_id, addr_key, role)
		)`,
		`CREATE INDEX members_role ON members (list_id, role, addr_key)`,
		// 3: pending subscriptions. token_hash is SHA-256 of the token,
		// NULL once confirmed and waiting for a moderator.
		`CREATE TABLE pending (
			id INTEGER PRIMARY KEY,
			list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
			address TEXT NOT NULL,
			addr_key TEXT NOT NULL,
			display_name TEXT NOT NULL DEFAULT '',
			state TEXT NOT NULL,
			token_hash BLOB UNIQUE,
			via TEXT NOT NULL,
			created INTEGER NOT NULL,
			expires INTEGER NOT NULL,
			UNIQUE (list_id, addr_key)
		)`,
		// 4: decisions of the posting rule chain.
		`CREATE TABLE decisions (
			id INTEGER PRIMARY KEY,
			list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
			message_id TEXT NOT NULL,
			poster TEXT NOT NULL,
			member INTEGER NOT NULL,
			action TEXT NOT NULL,
			rule TEXT NOT NULL,
			reason TEXT NOT NULL,
			rules TEXT NOT NULL,
			error TEXT NOT NULL DEFAULT '',
			at INTEGER NOT NULL
		)`,
		`CREATE INDEX decisions_list ON decisions (list_id, id)`,
		// 6: delivery mode of a member: "regular" (each post) or "digest".
		`ALTER TABLE members ADD COLUMN mode TEXT NOT NULL DEFAULT 'regular'`,
		// 7: pending unsubscriptions by mail, waiting for the address to
		// confirm with the token (SHA-256 stored, as for subscriptions).
		`CREATE TABLE pending_unsub (
			id INTEGER PRIMARY KEY,
			list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
			address TEXT NOT NULL,
			addr_key TEXT NOT NULL,
			token_hash BLOB NOT NULL UNIQUE,
			via TEXT NOT NULL,
			created INTEGER NOT NULL,
			expires INTEGER NOT NULL,
			UNIQUE (list_id, addr_key)
		)`,
		// 8: display-name prefix search (MemberQuery.Prefix); the address
		// prefix uses the UNIQUE (list_id, addr_key, role) index.
		`CREATE INDEX members_name ON members (list_id, lower(display_name), addr_key)`,
		// 9: the form of a digest member's digests: "mime" (RFC 2046
		// multipart/digest, what every digest member got before) or
		// "plain" (RFC 1153 text). The mode column keeps regular|digest.
		`ALTER TABLE members ADD COLUMN digest_format TEXT NOT NULL DEFAULT 'mime'`,
	}
}
