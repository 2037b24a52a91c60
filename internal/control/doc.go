// Package control is the local control API of a running posthorn daemon:
// HTTP with JSON bodies over a unix socket in the data directory, used by
// `posthorn queue` and by `posthorn sendmail` (to wake the pickup).
//
// Access control is the file system's: the socket is created with mode 0600,
// so only root and the daemon's user can connect; on Linux the peer's uid is
// also checked on every connection (see Listen).
//
// Requests and their outcomes:
//
//	GET  /v1/queue                       200 [queue.Summary, ...]
//	GET  /v1/queue/{id}                  200 queue.Detail
//	POST /v1/queue/{id}/flush|hold|release|delete
//	                                     200 {"ok": true}
//	POST /v1/queue/flush                 200 {"ok": true}   (every message due now)
//	POST /v1/pickup                      200 {"ok": true}   (scan the sendmail drop directory)
//
// Errors are {"error": "..."}: 400 for a malformed queue id or unknown
// action, 404 for an id that is not queued (the Client turns it back into an
// error wrapping queue.ErrNotFound), 500 otherwise.
package control
