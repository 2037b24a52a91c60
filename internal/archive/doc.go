// Package archive keeps every list's archived posts in SQLite: permanent
// numbers and permalinks, threads, full-text search, and mbox import and
// export through small seams (Source, Sink) that the mbox package fills.
//
// # Numbers are forever
//
// Each list has a counter row (archive_lists.next_number). Archiving a post
// takes the counter's value as the post's number and moves the counter on,
// in the same transaction, under the database write lock, so two writers
// never get the same number. Import with KeepNumbers may ask for a given
// number instead; it is refused if any post of the list, live or deleted,
// holds it, and the counter is moved above it. So the counter only grows
// and is always above every number used, and a number is never given twice.
// A fresh list starts at 1; a pipermail import keeps pipermail's numbers,
// which start at 0.
//
// Nothing ever recomputes a number. The 2015 Mailman incident renumbered
// every post of a list when its archive was rebuilt from a hand-edited
// mbox, because pipermail derived numbers from mbox positions; every link
// ever shared broke. Here a number is stored once and read back: re-indexing
// (Reindex), re-threading (Rethread), deleting, importing more history and
// exporting then importing (the export carries each number in an
// X-Posthorn-Archive-Number header) all leave it alone. The counter is never
// derived from MAX(number), so deleting the newest post does not hand its
// number to the next one.
//
// A post also has a permalink, 16 hex characters of SHA-256 of its
// Message-ID (of its content for a post without one, of both for a second
// post reusing a Message-ID), a second address that does not depend on the
// archive at all.
//
// # Life of a post
//
//	Add/Import ─▶ live ─Delete─▶ tombstone
//
// Add is idempotent: a post with the Message-ID and content hash (line
// endings and trailing blank space aside) of one already archived is not
// added again, so importing the same mbox twice adds nothing. Delete keeps
// the row as a tombstone — number, permalink, Message-ID, content hash,
// references, when, why and by whom — and drops the raw message, subject,
// author and search entry; Get returns it with Deleted set, Raw a
// *DeletedError, and re-importing the post does not bring it back.
//
// # Threads
//
// Threading (JWZ) uses References and In-Reply-To, with placeholders for
// referenced posts that were never archived, loop and self-reference
// checks, and a subject fallback for replies ("Re:", "AW:", "[list]") with
// no parent found. A thread's places (ThreadID, ParentNumber, Depth) are
// derived data: Add re-threads the threads a new post touches, so a parent
// arriving after its replies adopts them; Rethread recomputes a whole list.
//
// # Search
//
// An FTS5 table indexes subject, author and the text SearchText extracts
// (by default the subject and the first text/plain part). Reindex rebuilds
// it from the raw messages.
//
// # Import and export
//
// Import reads a Source in order and commits batches, each with a
// checkpoint (source offset of its last message) so that an interrupted
// import resumes (ResumeOffset). A message whose header cannot be read is
// archived raw and listed in the report, never dropped. Export hands live
// posts in number order to a Sink with the number header first.
package archive
