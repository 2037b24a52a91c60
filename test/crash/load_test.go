package crash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

const (
	loadClients   = 8               // concurrent SMTP clients
	msgsPerConn   = 40              // messages sent on one connection before QUIT
	maxSeq        = 100000          // hard bound on messages one test may send
	clientTimeout = 5 * time.Second // per SMTP command and for the reply to the dot
	dialTimeout   = time.Second     // per connection attempt
	redialPause   = 20 * time.Millisecond
)

// ledger hands out sequence numbers and records which messages the daemon
// acknowledged. It is shared by every client and every cycle of one test.
type ledger struct {
	mu        sync.Mutex
	next      int            // next sequence number to hand out
	acked     map[int]string // seq → queue id from the 250 reply
	anomalies []string       // protocol surprises, reported by the test
}

func newLedger() *ledger { return &ledger{acked: make(map[int]string)} }

// take returns a fresh sequence number, or false once maxSeq is reached.
func (l *ledger) take() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next >= maxSeq {
		return 0, false
	}
	seq := l.next
	l.next++
	return seq, true
}

func (l *ledger) ack(seq int, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[seq] = id
}

func (l *ledger) anomaly(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.anomalies) < 20 {
		l.anomalies = append(l.anomalies, fmt.Sprintf(format, args...))
	}
}

// ackedCount returns how many messages have been acknowledged so far.
func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// sent returns how many sequence numbers were handed out.
func (l *ledger) sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// snapshot returns a copy of the acknowledged set and the anomalies.
func (l *ledger) snapshot() (map[int]string, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	acked := make(map[int]string, len(l.acked))
	for k, v := range l.acked {
		acked[k] = v
	}
	return acked, append([]string(nil), l.anomalies...)
}

// rcptOf is the one recipient of message seq.
func rcptOf(seq int) string { return fmt.Sprintf("rcpt-%d@example.net", seq) }

// seqOfRcpt is the inverse of rcptOf.
func seqOfRcpt(rcpt string) (int, bool) {
	local, ok := strings.CutSuffix(rcpt, "@example.net")
	if !ok {
		return 0, false
	}
	n, ok := strings.CutPrefix(local, "rcpt-")
	if !ok {
		return 0, false
	}
	seq, err := strconv.Atoi(n)
	return seq, err == nil
}

// bodyOf is the body of message seq: 1 to 64 lines, so sizes vary from
// about 80 bytes to 5 KB.
func bodyOf(seq int) []byte {
	var b bytes.Buffer
	for i := 0; i <= seq%64; i++ {
		fmt.Fprintf(&b, "seq %d line %d: the quick brown fox jumps over the lazy dog\r\n", seq, i)
	}
	return b.Bytes()
}

// seqHeader is the field that names message seq in its header section.
func seqHeader(seq int) string { return fmt.Sprintf("X-Test-Seq: %d\r\n", seq) }

// messageOf is the whole message seq as submitted.
func messageOf(seq int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Crash Test <sender@example.org>\r\n")
	fmt.Fprintf(&b, "To: <%s>\r\n", rcptOf(seq))
	fmt.Fprintf(&b, "Subject: crash test message %d\r\n", seq)
	b.WriteString("Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n")
	fmt.Fprintf(&b, "Message-ID: <crash-%d@client.test>\r\n", seq)
	b.WriteString(seqHeader(seq))
	b.WriteString("\r\n")
	b.Write(bodyOf(seq))
	return b.Bytes()
}

// runLoad starts loadClients clients submitting to addr until ctx is done.
// The returned function waits for them to finish.
func runLoad(ctx context.Context, addr string, l *ledger) (wait func()) {
	var wg sync.WaitGroup
	for range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clientLoop(ctx, addr, l)
		}()
	}
	return wg.Wait
}

// clientLoop connects, sends up to msgsPerConn messages, and reconnects,
// until ctx is done or the ledger runs out of sequence numbers. Errors
// (refused connections after the kill, resets) only cause a reconnect.
func clientLoop(ctx context.Context, addr string, l *ledger) {
	for ctx.Err() == nil {
		c, err := dialSMTP(ctx, addr)
		if err != nil {
			pause(ctx, redialPause)
			continue
		}
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		for i := 0; i < msgsPerConn && ctx.Err() == nil; i++ {
			seq, ok := l.take()
			if !ok {
				stop()
				_ = c.Close()
				return
			}
			if err := sendOne(c, seq, l); err != nil {
				break
			}
		}
		stop()
		_ = c.Close()
	}
}

func dialSMTP(ctx context.Context, addr string) (*smtp.Client, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout = clientTimeout
	c.SubmissionTimeout = clientTimeout
	if err := c.Hello("client.test"); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// sendOne submits message seq and records it in the ledger if DATA got 250.
func sendOne(c *smtp.Client, seq int, l *ledger) error {
	if err := c.Mail("sender@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcptOf(seq), nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(messageOf(seq)); err != nil {
		_ = w.Close()
		return err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code/100 == 5 {
			l.anomaly("seq %d: DATA rejected permanently: %v", seq, err)
		}
		return err
	}
	id, ok := queueIDOf(resp.StatusText)
	if !ok {
		l.anomaly("seq %d: 250 without a queue id: %q", seq, resp.StatusText)
	}
	l.ack(seq, id)
	return nil
}

// queueIDOf finds the queue id in "2.0.0 Ok: queued as <id>": 32 lowercase
// hex digits.
func queueIDOf(text string) (string, bool) {
	_, id, ok := strings.Cut(text, "queued as ")
	if !ok {
		return "", false
	}
	id, _, _ = strings.Cut(id, " ")
	if len(id) != 32 {
		return "", false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return id, true
}

// pause sleeps for d or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
