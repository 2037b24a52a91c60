// Package spool is Posthorn's durable message store: one file per message in
// a single directory, written so that a message is on stable storage before
// anyone is told it was accepted.
//
// # Life of a file
//
//	Create ──▶ tmp-ID (written, fdatasync'd) ──Commit──▶ ID ──▶ state records appended
//	   │                                     (rename + group dir fsync)     │
//	   └─ Abort: tmp-ID removed                                      Remove: unlink + dir fsync
//
// A message becomes durable in Commit: its data is fdatasync'd, the temporary
// file is renamed to its final name, and the directory is fsync'd. The
// directory fsync is shared between every Commit and Remove waiting at the
// same moment (group commit), so that concurrent sessions pay for one fsync.
// Only after Commit returns may the caller reply 250.
//
// After every delivery attempt the queue appends a state record (a snapshot
// of the per-recipient state) and fdatasyncs it; the last record whose
// checksum is valid wins, so a torn append at a crash falls back to the state
// before it. A file whose envelope or body fails its checksum is moved to the
// quarantine directory and reported, never delivered and never deleted.
//
// The on-disk format is documented in docs/spool.md.
package spool
