// Package pickup moves messages that `posthorn sendmail` committed to the
// drop directory (DATA/maildrop, same file format as the queue) into the
// queue, so that sendmail works while the daemon is down and the daemon
// takes the mail when it runs.
//
// Life of a drop file:
//
//	tmp-ID (sendmail writing) ── kept; removed by the scan only when older than the drop store's grace
//	ID (committed) ──verify checksums──▶ corrupt: quarantined by the scan, reported
//	               │
//	               └─▶ transfer into the queue spool, durably:
//	                     owned by us (or we are root): Adopt (rename + directory fsyncs)
//	                     owned by another user:        copy with Create/Commit, then remove
//	                   ──▶ Load from the queue spool ──▶ Add (scheduled for delivery)
//
// A crash between the two steps of a copy leaves the message in both
// directories; the next pass finds it already queued and only removes the
// drop file, so nothing is lost or sent twice.
//
// Run scans once at start, then every Interval and whenever Poke is called
// (sendmail asks the daemon to poke through the control socket). A file that
// cannot be transferred stays in place and is retried on every pass; its
// error is logged once, not on every pass.
package pickup
