package spool

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Magic starts every committed spool file; the last byte is the format
// version. A file still being written starts with magicPartial instead, and
// Commit replaces it before the file is fdatasync'd.
const (
	Magic        = "PHSPOOL1"
	magicPartial = "PHSPOOL_"
)

const (
	maxEnvelope  = 16 << 20 // bytes of envelope JSON
	maxStateRec  = 16 << 20 // bytes of one state record
	headerFixed  = len(Magic) + 4
	bodyLenBytes = 8
	crcBytes     = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Envelope is what SMTP (or sendmail) said about a message; it never changes
// after Commit.
type Envelope struct {
	ID      string    `json:"id"`
	From    string    `json:"from"`  // reverse-path; "" is the null sender
	Rcpts   []string  `json:"rcpts"` // forward-paths, in the order given
	Arrival time.Time `json:"arrival"`
	// MessageID is the message's Message-ID field (the one we added when it
	// had none), for the mail log and traces.
	MessageID string `json:"message_id,omitempty"`
	Service   string `json:"service,omitempty"` // who submitted it: AUTH user, [[service]] network, Unix user; "unknown"
	Client    string `json:"client,omitempty"`  // client IP, or "local" for sendmail
	Helo      string `json:"helo,omitempty"`
	SMTPUTF8  bool   `json:"smtputf8,omitempty"`
	// DSN marks a notification we generated (bounce or delay notice); such a
	// message never causes another notification.
	DSN bool `json:"dsn,omitempty"`
	// Personal, when set, asks for one transaction per recipient, each
	// with the envelope sender and the extra header fields that the
	// queue's Personalizer returns for that recipient (VERP and per-member
	// links of a list post). Its value names what to personalize for: for
	// list posts, the list address.
	Personal string `json:"personal,omitempty"`
}

// RcptStatus is where one recipient stands.
type RcptStatus string

const (
	Pending   RcptStatus = "pending"   // still to be delivered
	Delivered RcptStatus = "delivered" // accepted by an upstream
	Failed    RcptStatus = "failed"    // permanently failed or expired; sender notified
)

// Rcpt is the mutable state of one recipient.
type Rcpt struct {
	Status         RcptStatus `json:"status"`
	Attempts       int        `json:"attempts,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	LastAttempt    time.Time  `json:"last_attempt,omitzero"`
	Upstream       string     `json:"upstream,omitempty"`
	MaybeDelivered bool       `json:"maybe_delivered,omitempty"`
}

// State is the mutable part of a message, persisted as a whole after every
// change.
type State struct {
	Rcpts       []Rcpt    `json:"rcpts"` // parallel to Envelope.Rcpts
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Held        bool      `json:"held,omitempty"`
	Warned      bool      `json:"warned,omitempty"` // delay notice sent
	// Age is how long the message had been queued at this record, measured
	// on the daemon's monotonic clock (immune to wall-clock steps); 0 in
	// records written before it existed.
	Age time.Duration `json:"age,omitempty"`
}

// InitialState is the state of a freshly committed message.
func InitialState(env *Envelope) State {
	st := State{Rcpts: make([]Rcpt, len(env.Rcpts))}
	for i := range st.Rcpts {
		st.Rcpts[i].Status = Pending
	}
	return st
}

// Message is a decoded spool file without its body.
type Message struct {
	Env     Envelope
	State   State
	BodyOff int64 // offset of the body in the file
	BodyLen int64
	// StateEnd is the offset after the last valid state record; a torn record
	// after it is overwritten by the next append.
	StateEnd int64
	// Torn is set when bytes follow StateEnd (a torn or corrupt append).
	Torn bool
}

// CorruptError says a spool file cannot be trusted.
type CorruptError struct {
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt spool file at offset %d: %s", e.Offset, e.Reason)
}

// PartialError says a file was never committed: it is still being written,
// or its writer died before Commit (so it was never acknowledged).
type PartialError struct{ Reason string }

func (e *PartialError) Error() string { return "uncommitted spool file: " + e.Reason }

// encodeHead returns the partial magic, envelope and the body length
// placeholder.
func encodeHead(buf []byte, env *Envelope) ([]byte, error) {
	js, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	buf = append(buf, magicPartial...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(js)))
	buf = append(buf, js...)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(js, castagnoli))
	buf = binary.LittleEndian.AppendUint64(buf, 0) // body length, patched in Commit
	return buf, nil
}

// encodeState returns one state record: length, checksum, JSON.
func encodeState(st *State) ([]byte, error) {
	js, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	rec := make([]byte, 8, 8+len(js))
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(js)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(js, castagnoli))
	return append(rec, js...), nil
}

// Decode reads a spool file of the given size. verifyBody checks the body
// checksum too (reading the whole body); recovery does, listing does not.
func Decode(r io.ReaderAt, size int64, verifyBody bool) (*Message, error) {
	return decode(r, size, verifyBody, nil)
}

// decode is Decode with a scratch buffer for verifying the body (nil
// allocates one).
func decode(r io.ReaderAt, size int64, verifyBody bool, scratch []byte) (*Message, error) {
	var fixed [headerFixed]byte
	if _, err := r.ReadAt(fixed[:], 0); err != nil {
		return nil, &PartialError{"shorter than its header"}
	}
	if string(fixed[:len(Magic)]) == magicPartial {
		return nil, &PartialError{"not committed"}
	}
	if string(fixed[:len(Magic)]) != Magic {
		return nil, &CorruptError{0, "bad magic"}
	}
	envLen := int64(binary.LittleEndian.Uint32(fixed[len(Magic):]))
	if envLen > maxEnvelope || int64(headerFixed)+envLen+crcBytes+bodyLenBytes > size {
		return nil, &CorruptError{int64(len(Magic)), "envelope length out of range"}
	}
	tail := make([]byte, envLen+crcBytes+bodyLenBytes)
	if _, err := r.ReadAt(tail, int64(headerFixed)); err != nil {
		return nil, &CorruptError{int64(headerFixed), "short envelope"}
	}
	js := tail[:envLen]
	if crc32.Checksum(js, castagnoli) != binary.LittleEndian.Uint32(tail[envLen:]) {
		return nil, &CorruptError{int64(headerFixed), "envelope checksum mismatch"}
	}
	m := &Message{}
	if err := json.Unmarshal(js, &m.Env); err != nil {
		return nil, &CorruptError{int64(headerFixed), "envelope: " + err.Error()}
	}
	if m.Env.ID == "" || len(m.Env.Rcpts) == 0 {
		return nil, &CorruptError{int64(headerFixed), "envelope without id or recipients"}
	}
	m.BodyOff = int64(headerFixed) + envLen + crcBytes + bodyLenBytes
	bl := binary.LittleEndian.Uint64(tail[envLen+crcBytes:])
	if bl > uint64(size) || m.BodyOff+int64(bl)+crcBytes > size {
		return nil, &CorruptError{m.BodyOff - bodyLenBytes, "body length out of range"}
	}
	m.BodyLen = int64(bl)
	var crcb [crcBytes]byte
	if _, err := r.ReadAt(crcb[:], m.BodyOff+m.BodyLen); err != nil {
		return nil, &CorruptError{m.BodyOff + m.BodyLen, "short body checksum"}
	}
	if verifyBody {
		h := crc32.New(castagnoli)
		if scratch == nil {
			scratch = make([]byte, 32<<10)
		}
		if _, err := io.CopyBuffer(h, io.NewSectionReader(r, m.BodyOff, m.BodyLen), scratch); err != nil {
			return nil, &CorruptError{m.BodyOff, "reading body: " + err.Error()}
		}
		if h.Sum32() != binary.LittleEndian.Uint32(crcb[:]) {
			return nil, &CorruptError{m.BodyOff, "body checksum mismatch"}
		}
	}
	m.State = InitialState(&m.Env)
	off := m.BodyOff + m.BodyLen + crcBytes
	m.StateEnd = off
	for off+8 <= size {
		var rh [8]byte
		if _, err := r.ReadAt(rh[:], off); err != nil {
			break
		}
		n := int64(binary.LittleEndian.Uint32(rh[0:]))
		if n > maxStateRec || off+8+n > size {
			break // torn append: the previous state stands
		}
		rec := make([]byte, n)
		if _, err := r.ReadAt(rec, off+8); err != nil {
			break
		}
		if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(rh[4:]) {
			break
		}
		var st State
		if err := json.Unmarshal(rec, &st); err != nil || len(st.Rcpts) != len(m.Env.Rcpts) {
			break
		}
		m.State = st
		off += 8 + n
		m.StateEnd = off
	}
	m.Torn = m.StateEnd < size
	return m, nil
}
