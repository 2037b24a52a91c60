package trace

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
)

// A segment's events are one blob: a version byte, then per event
//
//	uvarint  field mask (the f* bits below)
//	varint   time − the segment's time, in nanoseconds
//	fields   in bit order, those whose bit is set
//
// String fields are carried over: an event's bit is set only when the
// value differs from the previous event's in the same blob (an empty value
// is then written as length 0), so the Message-ID, sender, service,
// upstream and reply that a message's events repeat are stored once. A
// string is a uvarint length and its bytes; numbers are varints, set only
// when non-zero; Rules is a uvarint count and that many strings; Maybe is
// its bit alone. The Message-ID is stored as normMessageID gives it.
//
// New fields take new bits; a decoder refuses a blob with bits it does not
// know, and a new version byte marks an incompatible change.
const codecVersion = 1

// String fields, carried over from the previous event.
const (
	fKind = 1 << iota
	fMessageID
	fService
	fFrom
	fRcpt
	fClient
	fUpstream
	fReply
	fStage
	fNoticeID
	fAction
	fList
	nStrings = iota
)

// Other fields, written only when set.
const (
	fRules = 1 << (nStrings + iota)
	fRcpts
	fSize
	fAttempts
	fDelayMS
	fNext
	fMaybe
	fAll = fMaybe<<1 - 1
)

// strs is an event's string fields in bit order.
type strs [nStrings]string

func eventStrs(e *maillog.Event, mid string) strs {
	return strs{string(e.Kind), mid, e.Service, e.From, e.Rcpt, e.Client, e.Upstream, e.Reply,
		e.Stage, e.NoticeID, e.Action, e.List}
}

// encoder appends events to a segment's blob.
type encoder struct {
	base int64 // the segment's time
	prev strs
}

func newEncoder(b []byte, base int64) ([]byte, encoder) {
	return append(b, codecVersion), encoder{base: base}
}

// add appends e to b.
func (c *encoder) add(b []byte, e *maillog.Event) []byte {
	cur := eventStrs(e, normMessageID(e.MessageID))
	mask := uint64(0)
	for i := range cur {
		if cur[i] != c.prev[i] {
			mask |= 1 << i
		}
	}
	delayMS := e.Delay.Milliseconds()
	var next int64
	if !e.Next.IsZero() {
		next = e.Next.UnixNano()
	}
	for _, f := range [...]struct {
		bit uint64
		set bool
	}{
		{fRules, len(e.Rules) > 0}, {fRcpts, e.Rcpts != 0}, {fSize, e.Size != 0}, {fAttempts, e.Attempts != 0},
		{fDelayMS, delayMS != 0}, {fNext, next != 0}, {fMaybe, e.Maybe},
	} {
		if f.set {
			mask |= f.bit
		}
	}
	b = binary.AppendUvarint(b, mask)
	b = binary.AppendVarint(b, e.Time.UnixNano()-c.base)
	for i := range cur {
		if mask&(1<<i) != 0 {
			b = appendString(b, cur[i])
		}
	}
	c.prev = cur
	if mask&fRules != 0 {
		b = binary.AppendUvarint(b, uint64(len(e.Rules)))
		for _, r := range e.Rules {
			b = appendString(b, r)
		}
	}
	for _, v := range [...]struct {
		bit uint64
		n   int64
	}{{fRcpts, int64(e.Rcpts)}, {fSize, e.Size}, {fAttempts, int64(e.Attempts)}, {fDelayMS, delayMS}, {fNext, next}} {
		if mask&v.bit != 0 {
			b = binary.AppendVarint(b, v.n)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// CorruptError is a stored segment that cannot be decoded.
type CorruptError struct {
	Segment int64
	Reason  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("trace: segment %d: %s", e.Segment, e.Reason)
}

// maxSegmentEvents bounds the events of one segment; Event.ID is the
// segment id shifted by idShift plus the event's index in it.
const (
	idShift          = 12
	maxSegmentEvents = 1 << idShift
)

// decodeSegment appends the events of segment id (time base, queue id
// queueID) to out.
func decodeSegment(out []Event, id, base int64, queueID string, b []byte) ([]Event, error) {
	bad := func(reason string) ([]Event, error) { return out, &CorruptError{Segment: id, Reason: reason} }
	if len(b) == 0 {
		return out, nil // a notice link
	}
	if b[0] != codecVersion {
		return bad(fmt.Sprintf("unknown encoding version %d", b[0]))
	}
	d := decoder{b: b[1:]}
	var prev strs
	for i := int64(0); len(d.b) > 0; i++ {
		if i >= maxSegmentEvents {
			return bad("too many events")
		}
		mask := d.uvarint()
		if mask&^fAll != 0 {
			return bad(fmt.Sprintf("unknown fields %#x", mask&^fAll))
		}
		e := Event{ID: id<<idShift + i, QueueID: queueID}
		e.Time = time.Unix(0, base+d.varint())
		for j := range prev {
			if mask&(1<<j) != 0 {
				prev[j] = d.str()
			}
		}
		e.Kind, e.Service, e.Sender, e.Rcpt, e.Client = prev[0], prev[2], prev[3], prev[4], prev[5]
		e.Upstream, e.Reply, e.Stage, e.NoticeID, e.Action, e.List = prev[6], prev[7], prev[8], prev[9], prev[10], prev[11]
		if prev[1] != "" {
			e.MessageID = "<" + prev[1] + ">"
		}
		if mask&fRules != 0 {
			n := d.uvarint()
			for range min(n, uint64(len(d.b))) {
				e.Rules = append(e.Rules, d.str())
			}
		}
		num := func(bit uint64) int64 {
			if mask&bit == 0 {
				return 0
			}
			return d.varint()
		}
		e.Rcpts, e.Size, e.Attempts, e.DelayMS = int(num(fRcpts)), num(fSize), int(num(fAttempts)), num(fDelayMS)
		if n := num(fNext); n != 0 {
			e.Next = time.Unix(0, n)
		}
		e.Maybe = mask&fMaybe != 0
		if d.err {
			return bad("truncated")
		}
		out = append(out, e)
	}
	return out, nil
}

// decoder reads a blob; err is set, and zero values returned, once it
// runs out.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
