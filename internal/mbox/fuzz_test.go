package mbox

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func FuzzReader(f *testing.F) {
	f.Add([]byte("From a Mon Jan  1 12:00:00 2024\nX: 1\n\nbody\n>From x\n>>From y\n\nFrom b\r\nY: 2\r\n"))
	f.Add([]byte("lead\nFrom a\n\n\nFrom \nFrom"))
	f.Add([]byte(">From a\nFrom b remote from c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{Auto, Mboxo, Mboxrd} {
			for _, maxSize := range []int64{0, 16} {
				msgs := fuzzRead(t, data, format, maxSize)
				for _, m := range msgs {
					if m.Offset < 0 || m.Offset >= int64(len(data)) || !bytes.HasPrefix(data[m.Offset:], []byte("From ")) {
						t.Fatalf("offset %d does not point at a From line", m.Offset)
					}
				}
				if maxSize > 0 {
					continue
				}
				if format == Mboxrd {
					checkAccounted(t, data, msgs)
				}
				var buf bytes.Buffer
				w := NewWriter(&buf)
				for _, m := range msgs {
					if err := w.Write(m.Sender, m.Date, m.Raw); err != nil {
						t.Fatal(err)
					}
				}
				back := fuzzRead(t, buf.Bytes(), Mboxrd, 0)
				if len(back) != len(msgs) {
					t.Fatalf("round trip: %d messages, want %d", len(back), len(msgs))
				}
				for i := range back {
					if !bytes.Equal(back[i].Raw, normalise(msgs[i].Raw)) {
						t.Fatalf("round trip message %d: %q, want %q", i, back[i].Raw, msgs[i].Raw)
					}
				}
			}
		}
	})
}

func fuzzRead(t *testing.T, data []byte, format Format, maxSize int64) []*Message {
	r := NewReader(bytes.NewReader(data), format)
	r.MaxSize = maxSize
	var msgs []*Message
	last := int64(-1)
	for i := 0; i <= len(data)+1; i++ {
		m, err := r.Next()
		if err == io.EOF {
			return msgs
		}
		var fe *FormatError
		var te *TooLargeError
		switch {
		case errors.As(err, &fe):
			if i != 0 || fe.Offset != 0 {
				t.Fatalf("FormatError %v not at the start", fe)
			}
			if fe.Size > int64(len(data)) || maxSize == 0 && !bytes.Equal(fe.Data, data[:fe.Size]) {
				t.Fatalf("FormatError data %q is not the start of the input", fe.Data)
			}
		case errors.As(err, &te):
			if maxSize == 0 || te.Size <= maxSize {
				t.Fatalf("unexpected %v", te)
			}
		case err != nil:
			t.Fatalf("Next: %v", err)
		default:
			if m.Offset <= last {
				t.Fatalf("offset %d after %d", m.Offset, last)
			}
			last = m.Offset
			if maxSize > 0 && int64(len(m.Raw)) > maxSize {
				t.Fatalf("message of %d bytes over MaxSize %d", len(m.Raw), maxSize)
			}
			msgs = append(msgs, m)
		}
	}
	t.Fatal("Next did not reach EOF")
	return nil
}

// checkAccounted verifies that msgs, read with Mboxrd, account for every
// byte of data from the first "From " line on: each message's stretch of
// the file is its separator line, its Raw quoted again, and at most one
// empty line.
func checkAccounted(t *testing.T, data []byte, msgs []*Message) {
	for i, m := range msgs {
		end := int64(len(data))
		if i+1 < len(msgs) {
			end = msgs[i+1].Offset
		}
		seg := data[m.Offset:end]
		nl := bytes.IndexByte(seg, '\n')
		if nl < 0 {
			if len(m.Raw) != 0 {
				t.Fatalf("message %d: separator without newline but raw %q", i, m.Raw)
			}
			continue
		}
		var q []byte
		for rest := m.Raw; len(rest) > 0; {
			line := rest
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				line = rest[:j+1]
			}
			rest = rest[len(line):]
			if needsQuote(line) {
				q = append(q, '>')
			}
			q = append(q, line...)
		}
		body := seg[nl+1:]
		if !bytes.Equal(body, q) && !bytes.Equal(body, append(bytes.Clone(q), '\n')) && !bytes.Equal(body, append(bytes.Clone(q), '\r', '\n')) {
			t.Fatalf("message %d: file has %q, message accounts for %q", i, body, q)
		}
	}
}
