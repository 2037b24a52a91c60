// Package accounts keeps the people who use Posthorn's web interface and
// API: users and their argon2id password hashes, login sessions, the login
// lockout, password resets, API tokens and the audit log. Everything lives
// in SQLite tables of the "accounts" component, in the database the caller
// opened with store.Open (the daemon's data_dir/posthorn.db, shared with the
// lists store, which keeps the list roles: owner and moderator rows for a
// user's email).
//
// Secrets are never stored: session, reset and API tokens are 256-bit
// random values of which only the SHA-256 is kept, and passwords are kept
// as argon2id hashes (see Params).
//
// Login (Authenticate) goes through these states for an account and for a
// client IP alike:
//
//	open ──failure──▶ open (failure recorded, with its time)
//	open ──Nth failure within Window──▶ locked until now+LockFor
//	locked ──any attempt──▶ *LockedError (password not even checked,
//	                          attempt not recorded, so the lock ends on time)
//	locked ──LockFor passes──▶ open (failures before the lock no longer count)
//	open ──success──▶ open (the account's failures are forgotten; the IP's are not)
//
// Failures and locks are rows, so they survive a restart. Unknown addresses
// are hashed against a dummy hash and counted like real ones, so neither
// timing nor lockout tells whether an address has an account.
//
// A session lives until it is idle for IdleTimeout or older than
// MaxLifetime, or until EndSession / EndAllSessions (a password set by an
// administrator or a reset ends every session of the user) /
// EndOtherSessions (ChangePassword, the user's own change, keeps the
// session it was made from and ends the others). A reset token is good for
// one use within ResetTTL; a password change uses up the outstanding ones.
package accounts
