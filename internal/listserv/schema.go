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
		// 4: archive jobs: the post as distributed, until Options.Archive
		// took it.
		`CREATE TABLE listserv_archive (
			list TEXT NOT NULL,
			msg_key TEXT NOT NULL,
			raw BLOB NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			created INTEGER NOT NULL,
			PRIMARY KEY (list, msg_key)
		)`,
		// 5: posts waiting for a digest (issue 0) or in the issue being
		// sent; deleted once their issue went out.
		`CREATE TABLE listserv_digest_entry (
			id INTEGER PRIMARY KEY,
			list TEXT NOT NULL,
			msg_key TEXT NOT NULL,
			subject TEXT NOT NULL,
			sender TEXT NOT NULL,
			raw BLOB NOT NULL,
			size INTEGER NOT NULL,
			added INTEGER NOT NULL,
			issue INTEGER NOT NULL DEFAULT 0,
			UNIQUE (list, msg_key)
		)`,
		`CREATE INDEX listserv_digest_entry_issue ON listserv_digest_entry (list, issue, id)`,
		// 6: digest issues: numbered once, state "sending" (raw is the
		// digest, fanned out with the dist table under key
		// "digest:VOLUME:ISSUE") then "done" (raw emptied).
		`CREATE TABLE listserv_digest (
			list TEXT NOT NULL,
			volume INTEGER NOT NULL,
			issue INTEGER NOT NULL,
			state TEXT NOT NULL,
			message_id TEXT NOT NULL,
			raw BLOB,
			entries INTEGER NOT NULL,
			created INTEGER NOT NULL,
			PRIMARY KEY (list, volume, issue)
		)`,
		// 7: bounce probes (probe.go): state "waiting" until a bounce to
		// name-bounces+probe-TOKEN@ ("bounced") or expires ("passed");
		// member is the member's address key. At most one waiting probe
		// per member.
		`CREATE TABLE listserv_probe (
			token TEXT PRIMARY KEY,
			list TEXT NOT NULL,
			member TEXT NOT NULL,
			sent INTEGER NOT NULL,
			expires INTEGER NOT NULL,
			state TEXT NOT NULL DEFAULT 'waiting',
			detail TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE UNIQUE INDEX listserv_probe_waiting ON listserv_probe (list, member) WHERE state = 'waiting'`,
		`CREATE INDEX listserv_probe_expires ON listserv_probe (state, expires)`,
	}
}
