// Package mbox reads and writes mbox files: messages stored one after the
// other, each introduced by a "From " separator line.
//
// # Reading
//
// A Reader walks the file line by line. Every line that begins with the five
// bytes "From " starts a new message; the line itself carries the envelope
// sender and a date, which are parsed leniently (asctime with or without a
// time zone, RFC 5322 style dates, a trailing "remote from host", no date
// at all, senders containing spaces or quotes, "From -"). Everything up to
// the next separator line is the message. One empty line ("\n" or "\r\n")
// directly before a separator, or at the end of the file, belongs to the
// mbox framing and is removed from the message.
//
// Content-Length headers (the mboxcl and mboxcl2 variants) are not trusted
// and not used: they are often wrong after a file has been edited, and the
// separator lines are authoritative in every variant we read.
//
// Lines inside a message that began with "From " were quoted by the writer:
//
//   - Mboxo writers prefix "From " with ">" and leave ">From " alone, so a
//     reader can only undo the first: ">From " becomes "From ", lines with
//     more '>' are kept as they are.
//   - Mboxrd writers prefix every line matching ">*From " with one more
//     '>', so the reader removes one '>' from every line matching ">+From ".
//   - Auto reads with the mboxrd rule. The two readings differ only on lines
//     starting with two or more '>' before "From "; mboxrd writers make one
//     from every quoted ">From " line, mboxo writers only when the original
//     already had it. Format reports Auto while no such line has been seen
//     (both readings of the file so far are identical) and Mboxrd from the
//     first such line on. The decision is per file and deterministic.
//
// Line endings (LF or CRLF) are kept as they are in the file; no line has a
// length limit.
//
// Nothing is silently dropped. Bytes before the first separator line are
// returned in a *FormatError (with the bytes in its Data field) and reading
// goes on with the next call to Next. A message larger than Reader.MaxSize
// (when set) is skipped up to the next separator line and reported as a
// *TooLargeError, so memory per message stays bounded; this is the one case
// where content is reported by size rather than kept.
//
// # Writing
//
// A Writer always writes mboxrd: a separator line "From sender asctime-date",
// the message with every line matching ">*From " prefixed by '>', a final
// newline when the message lacks one, and one empty line. Reading the result
// with Mboxrd or Auto gives back every message exactly, except that a
// message whose last line had no newline gains one.
package mbox

import (
	"fmt"
	"time"
)

// Format is the quoting convention of an mbox file.
type Format int

// The formats a Reader understands.
const (
	Auto Format = iota
	Mboxo
	Mboxrd
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case Auto:
		return "auto"
	case Mboxo:
		return "mboxo"
	case Mboxrd:
		return "mboxrd"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Message is one message of an mbox file.
type Message struct {
	// Sender is the envelope sender from the "From " line ("" if none).
	Sender string
	// Date is the date from the "From " line, zero if it is missing or
	// cannot be parsed. Dates without a time zone are taken as UTC.
	Date time.Time
	// Raw is the message with the From-quoting undone according to the
	// format; line endings are as in the file.
	Raw []byte
	// Offset is the byte offset of the message's "From " line in the file.
	Offset int64
	// Line is the 1-based line number of the "From " line.
	Line int
}

// FormatError reports bytes that do not belong to any message: data before
// the first "From " line. Data holds those bytes (at most Reader.MaxSize of
// them when MaxSize is set; Size is always the full count).
type FormatError struct {
	Line   int   // 1-based line where the bytes start
	Offset int64 // byte offset where the bytes start
	Reason string
	Data   []byte
	Size   int64
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("mbox: line %d (offset %d): %s (%d bytes)", e.Line, e.Offset, e.Reason, e.Size)
}

// TooLargeError reports a message that was skipped because it is larger
// than Reader.MaxSize. Reading goes on with the next message.
type TooLargeError struct {
	Sender string
	Line   int   // line of the message's "From " line
	Offset int64 // offset of the message's "From " line
	Size   int64 // size of the message in the file, "From " line excluded
	Limit  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("mbox: message at line %d (offset %d) from %q is %d bytes, over the limit of %d; skipped",
		e.Line, e.Offset, e.Sender, e.Size, e.Limit)
}
