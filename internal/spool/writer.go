package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"syscall"
)

const writeChunk = 64 << 10 // bytes buffered before a write(2)

// pageSize is the largest write(2) at offset 0 that a kill cannot cut
// short: the kernel copies a write page by page and stops between pages
// when the process gets a fatal signal. 4 KiB is the smallest page size
// Linux uses.
const pageSize = 4096

// Writer receives the body of a new message. Nothing is durable until
// Commit returns nil; Abort (or a failed Commit) leaves no trace.
type Writer struct {
	store   *Store
	env     *Envelope
	f       *os.File
	tmp     string
	buf     []byte
	flushed int64 // bytes already written to f
	bodyOff int64
	crc     uint32 // CRC-32C of the body so far
	err     error
	done    bool
	epoch   uint64 // Store.syncEpoch when the file was created
	created bool   // the file exists (Abort removes it)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk+4096); return &b }}

// ID is the message's queue id.
func (w *Writer) ID() string { return w.env.ID }

// Size is the number of body bytes written so far.
func (w *Writer) Size() int64 { return w.flushed + int64(len(w.buf)) - w.bodyOff }

// Write appends body bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.crc = crc32.Update(w.crc, castagnoli, p)
	w.buf = append(w.buf, p...)
	if len(w.buf) >= writeChunk {
		w.flush()
	}
	return len(p), w.err
}

// WriteString appends body bytes.
func (w *Writer) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// ReadFrom appends everything r yields, reading straight into the buffer.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for w.err == nil {
		if cap(w.buf)-len(w.buf) < 4096 {
			w.flush()
			if w.err != nil {
				break
			}
		}
		n, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		if n > 0 {
			w.crc = crc32.Update(w.crc, castagnoli, w.buf[len(w.buf):len(w.buf)+n])
			w.buf = w.buf[:len(w.buf)+n]
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, w.err
}

// create opens the message's own file.
func (w *Writer) create() error {
	f, err := openFile(w.tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o600)
	if err != nil {
		return &WriteError{Op: "create", Err: err}
	}
	w.f, w.created = f, true
	return nil
}

func (w *Writer) flush() {
	if len(w.buf) == 0 || w.err != nil {
		return
	}
	if w.f == nil {
		if w.err = w.create(); w.err != nil {
			return
		}
	}
	n, err := w.f.Write(w.buf)
	w.flushed += int64(n)
	if err != nil {
		w.err = &WriteError{Op: "write", Err: err}
		return
	}
	w.buf = w.buf[:0]
}

// Commit makes the message durable: body length and checksum are written,
// the data fdatasync'd, the file renamed to its final name and the directory
// fsync'd (shared with concurrent commits). Only then may the message be
// acknowledged.
func (w *Writer) Commit() (*Message, error) {
	m, err := w.commit()
	if err != nil {
		var we *WriteError
		if errors.As(err, &we) {
			w.store.noteWrite(err)
		}
		return nil, err
	}
	w.store.noteWrite(nil)
	return m, nil
}

func (w *Writer) commit() (*Message, error) {
	if w.done {
		return nil, errors.New("spool: writer already finished")
	}
	w.done = true
	defer w.release()
	if w.err != nil {
		w.cleanup()
		return nil, w.err
	}
	bodyLen := w.flushed + int64(len(w.buf)) - w.bodyOff
	lenOff := w.bodyOff - bodyLenBytes
	// A file that fits in the first page goes out in one write(2) with
	// its final magic. A longer one is written with the partial magic and
	// patched after: a write(2) of several pages stops between pages when
	// the process is killed, which would leave a committed-looking file
	// with a truncated body.
	if w.f == nil && w.store.jnl != nil {
		return w.commitJournal(bodyLen, lenOff)
	}
	inBuffer := w.flushed == 0 && len(w.buf)+crcBytes <= pageSize
	if inBuffer {
		// Everything is still in the buffer: one write(2) for the whole file.
		copy(w.buf, Magic)
		binary.LittleEndian.PutUint64(w.buf[lenOff:], uint64(bodyLen))
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, w.crc)
	w.flush()
	if w.err != nil {
		w.cleanup()
		return nil, w.err
	}
	if !inBuffer {
		// The head went out with the partial magic and no length: patch both.
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(bodyLen))
		if _, err := w.f.WriteAt(b[:], lenOff); err != nil {
			w.cleanup()
			return nil, &WriteError{Op: "write", Err: err}
		}
		if _, err := w.f.WriteAt([]byte(Magic), 0); err != nil {
			w.cleanup()
			return nil, &WriteError{Op: "write", Err: err}
		}
	}
	if w.store.fs != nil {
		// SyncFS: one shared syncfs covers the data, the inode and the entry.
		if err := w.f.Close(); err != nil {
			w.f = nil
			w.cleanup()
			return nil, &WriteError{Op: "close", Err: err}
		}
		w.f = nil
		if err := w.store.syncWrite(nil, w.epoch); err != nil {
			// Not known to be durable: do not acknowledge, and take the file
			// away so that it is not delivered without the client knowing.
			_ = os.Remove(w.tmp)
			return nil, err
		}
	} else {
		if err := w.store.syncWrite(w.f, w.epoch); err != nil {
			w.cleanup()
			return nil, err
		}
		if err := w.f.Close(); err != nil {
			w.f = nil
			w.cleanup()
			return nil, &WriteError{Op: "close", Err: err}
		}
		w.f = nil
		if err := w.store.syncEntry(w.tmp); err != nil {
			// The entry may or may not be durable: do not acknowledge, and take
			// the file away so that it is not delivered without the client
			// knowing.
			_ = os.Remove(w.tmp)
			return nil, &WriteError{Op: "fsync directory", Err: err}
		}
	}
	m := &Message{Env: *w.env, State: InitialState(w.env), BodyOff: w.bodyOff, BodyLen: bodyLen}
	m.StateEnd = w.bodyOff + bodyLen + crcBytes
	return m, nil
}

// commitJournal appends the whole message, still in the buffer, to the
// journal (SyncJournal mode).
func (w *Writer) commitJournal(bodyLen, lenOff int64) (*Message, error) {
	copy(w.buf, Magic)
	binary.LittleEndian.PutUint64(w.buf[lenOff:], uint64(bodyLen))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, w.crc)
	if err := w.store.jnl.append(w.env.ID, w.buf); err != nil {
		return nil, err
	}
	m := &Message{Env: *w.env, State: InitialState(w.env), BodyOff: w.bodyOff, BodyLen: bodyLen}
	m.StateEnd = int64(len(w.buf))
	return m, nil
}

// Abort discards the message.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	if w.err != nil {
		w.store.noteWrite(w.err) // a body write failed before the caller gave up
	}
	w.cleanup()
	w.release()
}

func (w *Writer) cleanup() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if w.created {
		_ = os.Remove(w.tmp)
	}
}

func (w *Writer) release() {
	if w.buf != nil && cap(w.buf) <= writeChunk+4096 {
		b := w.buf[:0]
		bufPool.Put(&b)
	}
	w.buf = nil
}

// WriteError is a failure to write the spool. It is always temporary for the
// client: reply 4xx, never 5xx.
type WriteError struct {
	Op  string
	Err error
}

func (e *WriteError) Error() string { return "spool " + e.Op + ": " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }
