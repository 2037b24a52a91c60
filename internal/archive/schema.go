package archive

// migrations are the ordered schema steps of the "archive" component.
// Append only: a released step is never edited.
func migrations() []string {
	return []string{
		// The per-list counter. next_number is the number the next post
		// gets; it only ever increases and is always above every number
		// stored for the list (deleted or not).
		`CREATE TABLE archive_lists (
			list TEXT PRIMARY KEY,
			next_number INTEGER NOT NULL
		)`,
		// One row per archived post, kept as a tombstone after deletion
		// (deleted_at set, its archive_raw row gone). number and permalink are assigned
		// once and never updated; thread_id, parent_number and depth are
		// derived and rewritten by threading.
		`CREATE TABLE archive_messages (
			id INTEGER PRIMARY KEY,
			list TEXT NOT NULL,
			number INTEGER NOT NULL,
			permalink TEXT NOT NULL,
			message_id TEXT NOT NULL,
			content_hash TEXT NOT NULL,
			subject TEXT NOT NULL,
			base_subject TEXT NOT NULL,
			is_reply INTEGER NOT NULL,
			from_name TEXT NOT NULL,
			from_addr TEXT NOT NULL,
			date INTEGER NOT NULL,
			received INTEGER NOT NULL,
			in_reply_to TEXT NOT NULL,
			refs TEXT NOT NULL,
			thread_id INTEGER NOT NULL,
			parent_number INTEGER NOT NULL,
			depth INTEGER NOT NULL,
			size INTEGER NOT NULL,
			legacy_path TEXT,
			parse_error TEXT NOT NULL,
			deleted_at INTEGER,
			deleted_reason TEXT NOT NULL DEFAULT '',
			deleted_by TEXT NOT NULL DEFAULT '',
			UNIQUE (list, number),
			UNIQUE (list, permalink)
		)`,
		// The raw messages, apart so that the rows threading and listings
		// read stay small and dense.
		`CREATE TABLE archive_raw (
			id INTEGER PRIMARY KEY REFERENCES archive_messages (id),
			raw BLOB NOT NULL
		)`,
		`CREATE INDEX archive_messages_mid ON archive_messages (list, message_id, thread_id)`,
		`CREATE INDEX archive_messages_hash ON archive_messages (list, content_hash)`,
		`CREATE INDEX archive_messages_date ON archive_messages (list, date, number)`,
		`CREATE INDEX archive_messages_thread ON archive_messages (list, thread_id)`,
		`CREATE INDEX archive_messages_subject ON archive_messages (list, base_subject, date, thread_id)`,
		`CREATE INDEX archive_messages_from ON archive_messages (list, from_addr)`,
		`CREATE INDEX archive_messages_legacy ON archive_messages (list, legacy_path) WHERE legacy_path IS NOT NULL`,
		// Every Message-ID a post names in References/In-Reply-To, so that
		// a parent arriving late finds its earlier children.
		`CREATE TABLE archive_refs (
			list TEXT NOT NULL,
			ref TEXT NOT NULL,
			msg INTEGER NOT NULL REFERENCES archive_messages (id)
		)`,
		`CREATE INDEX archive_refs_ref ON archive_refs (list, ref)`,
		`CREATE INDEX archive_refs_msg ON archive_refs (msg)`,
		// Full-text index; rowid is archive_messages.id.
		`CREATE VIRTUAL TABLE archive_fts USING fts5(subject, author, body, tokenize = 'unicode61 remove_diacritics 2')`,
		// Import checkpoints: the offset of the last committed message of
		// an interrupted import, and how many messages came before it.
		`CREATE TABLE archive_checkpoints (
			key TEXT PRIMARY KEY,
			list TEXT NOT NULL,
			offset INTEGER NOT NULL,
			idx INTEGER NOT NULL,
			done INTEGER NOT NULL,
			updated INTEGER NOT NULL
		)`,
	}
}
