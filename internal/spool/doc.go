// Package spool is Posthorn's durable message store: one file per message in
// a single directory, or a record in a shared journal (SyncJournal), written
// so that a message is on stable storage before anyone is told it was
// accepted.
//
// # Life of a file
//
//	Create ──▶ ID, partial magic ──Commit──▶ ID, final magic ──▶ state records appended
//	   │        (O_EXCL, written)   (fdatasync + group dir fsync)      │
//	   └─ Abort: ID removed                                    Remove: unlink + dir fsync
//
// A message becomes durable in Commit: the final magic replaces the partial
// one (in the same write(2) as the rest for a message that fits the 64 KiB
// buffer), the data is fdatasync'd and the directory is fsync'd. The
// directory fsync is shared between every Commit and Remove waiting at the
// same moment (group commit), so that concurrent sessions pay for one fsync;
// ext4 has usually committed the new entry with the file's fdatasync, which
// leaves the directory fsync little to do. Only after Commit returns may the
// caller reply 250. A file found with the partial magic was never
// acknowledged and is removed at start-up.
//
// After every delivery attempt the queue appends a state record (a snapshot
// of the per-recipient state) and fdatasyncs it; the last record whose
// checksum is valid wins, so a torn append at a crash falls back to the state
// before it. A file whose envelope or body fails its checksum is moved to the
// quarantine directory and reported, never delivered and never deleted.
//
// In SyncJournal mode (journal.go) a small new message gets no file at
// first: its image is appended to a shared journal segment, one write and
// one fdatasync for every message committing at that moment. It is given a
// file when its state is first saved (it was not delivered at once); a
// message delivered at once only has its record flagged done, and a
// segment with nothing live is deleted.
//
// The on-disk format is documented in docs/spool.md.
package spool
