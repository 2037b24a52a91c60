package listserv

// migrations are the ordered schema steps of the "listserv" component, in
// the same database as the lists. Append only: never edit a released step.
func migrations() []string {
	return []string{
		// 1: distribution progress per (list, post key): state is
		// "distributing" or "done"; cursor is the address key of the last
		// member whose copy was submitted.
		`CREATE TABLE listserv_dist (
			list TEXT NOT NULL,
			msg_key TEXT NOT NULL,
			state TEXT NOT NULL,
			cursor TEXT NOT NULL DEFAULT '',
			sent INTEGER NOT NULL DEFAULT 0,
			updated INTEGER NOT NULL,
			PRIMARY KEY (list, msg_key)
		)`,
		// 2: notice rate limits: kind "moderators" (addr "") keeps the time
		// of the last batch; kind "awaiting" counts notices per sender and day.
		`CREATE TABLE listserv_notice (
			list TEXT NOT NULL,
			kind TEXT NOT NULL,
			addr TEXT NOT NULL,
			day INTEGER NOT NULL DEFAULT 0,
			count INTEGER NOT NULL DEFAULT 0,
			last INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (list, kind, addr)
		)`,
		// 3: bounces: at most one point per member and day.
		`CREATE TABLE listserv_bounce (
			list TEXT NOT NULL,
			addr TEXT NOT NULL,
			day INTEGER NOT NULL,
			detail TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (list, addr, day)
		)`,
	}
}
