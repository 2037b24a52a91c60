package accounts

// migrations are the "accounts" component's schema steps. Append only.
// Times are Unix nanoseconds; token columns hold SHA-256 digests.
func migrations() []string {
	return []string{
		// 1: users. email is stored lowercased.
		`CREATE TABLE users (
			id INTEGER PRIMARY KEY,
			email TEXT NOT NULL UNIQUE,
			name TEXT NOT NULL DEFAULT '',
			password TEXT NOT NULL,
			site_admin INTEGER NOT NULL DEFAULT 0,
			disabled INTEGER NOT NULL DEFAULT 0,
			created INTEGER NOT NULL,
			password_changed INTEGER NOT NULL
		)`,
		// 2: failed logins; kind is 'account' (key = email) or 'ip'.
		`CREATE TABLE login_failures (
			id INTEGER PRIMARY KEY,
			kind TEXT NOT NULL,
			key TEXT NOT NULL,
			at INTEGER NOT NULL
		)`,
		`CREATE INDEX login_failures_key ON login_failures (kind, key, at)`,
		// 3: the latest lock of an account or IP.
		`CREATE TABLE login_locks (
			kind TEXT NOT NULL,
			key TEXT NOT NULL,
			locked_at INTEGER NOT NULL,
			until INTEGER NOT NULL,
			PRIMARY KEY (kind, key)
		)`,
		// 4: sessions.
		`CREATE TABLE sessions (
			id INTEGER PRIMARY KEY,
			token_hash BLOB NOT NULL UNIQUE,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			csrf_secret BLOB NOT NULL,
			created INTEGER NOT NULL,
			last_seen INTEGER NOT NULL,
			client_ip TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX sessions_user ON sessions (user_id)`,
		// 5: password resets.
		`CREATE TABLE password_resets (
			id INTEGER PRIMARY KEY,
			token_hash BLOB NOT NULL UNIQUE,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			created INTEGER NOT NULL,
			expires INTEGER NOT NULL,
			used INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX password_resets_user ON password_resets (user_id, created)`,
		// 6: API tokens.
		`CREATE TABLE api_tokens (
			id INTEGER PRIMARY KEY,
			token_hash BLOB NOT NULL UNIQUE,
			user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			name TEXT NOT NULL,
			created INTEGER NOT NULL,
			last_used INTEGER NOT NULL DEFAULT 0,
			revoked INTEGER NOT NULL DEFAULT 0
		)`,
		// 7: audit log. list and target may be empty.
		`CREATE TABLE audit_log (
			id INTEGER PRIMARY KEY,
			at INTEGER NOT NULL,
			actor TEXT NOT NULL,
			action TEXT NOT NULL,
			list TEXT NOT NULL DEFAULT '',
			target TEXT NOT NULL DEFAULT '',
			detail TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX audit_log_list ON audit_log (list, id)`,
		`CREATE INDEX audit_log_actor ON audit_log (actor, id)`,
	}
}
