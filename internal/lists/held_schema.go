package lists

// heldMigrations are the ordered schema steps of the "lists-held" component
// (the moderation queue). They are a component of their own, applied right
// after the "lists" steps, so that the two lists of steps can grow
// independently. Append only: never edit a released step.
func heldMigrations() []string {
	return []string{
		// 1: held posts. raw is the whole message as received; it is cleared
		// once the post leaves the queue. msg_key identifies the post for
		// idempotent holding (the Message-ID, or a digest when it has none);
		// while a post is held, (list_id, msg_key) is unique.
		`CREATE TABLE held (
			id INTEGER PRIMARY KEY,
			list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
			msg_key TEXT NOT NULL,
			message_id TEXT NOT NULL,
			envelope_from TEXT NOT NULL,
			sender TEXT NOT NULL,
			member INTEGER NOT NULL,
			subject TEXT NOT NULL,
			decision_id INTEGER NOT NULL,
			rule TEXT NOT NULL,
			reason TEXT NOT NULL,
			size INTEGER NOT NULL,
			raw BLOB,
			state TEXT NOT NULL,
			held_at INTEGER NOT NULL,
			expires INTEGER NOT NULL,
			notified INTEGER NOT NULL DEFAULT 0,
			moderator TEXT NOT NULL DEFAULT '',
			mod_reason TEXT NOT NULL DEFAULT '',
			resolved INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX held_list ON held (list_id, state, id)`,
		`CREATE INDEX held_expiry ON held (state, expires)`,
		`CREATE UNIQUE INDEX held_key ON held (list_id, msg_key) WHERE state = 'held'`,
	}
}
