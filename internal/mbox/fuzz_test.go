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
