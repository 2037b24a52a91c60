package pickup

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// DefaultInterval is how often Run scans when Interval is zero.
const DefaultInterval = time.Second

// Pickup moves committed drop files into the queue.
type Pickup struct {
	// Drop is the sendmail drop directory. Give it a temp grace
	// (spool.Store.SetTempGrace) so that the repairing scans do not remove
	// files that sendmail processes are still writing.
	Drop  *spool.Store
	Queue *spool.Store         // the queue spool
	Add   func(*spool.Message) // schedules a message now in Queue
	// Interval between scans; DefaultInterval when zero.
	Interval time.Duration
	Logger   *slog.Logger
	MailLog  *maillog.Log // records each message picked up as accepted

	once     sync.Once
	wake     chan struct{}
	reported map[string]string // id → error already logged; Run's goroutine only
}

func (p *Pickup) init() {
	p.once.Do(func() {
		p.wake = make(chan struct{}, 1)
		p.reported = make(map[string]string)
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
		if p.MailLog == nil {
			p.MailLog = maillog.New(p.Logger)
		}
		if p.Interval <= 0 {
			p.Interval = DefaultInterval
		}
	})
}

// Poke asks Run for a scan now; it never blocks.
func (p *Pickup) Poke() {
	p.init()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run scans at start, then every Interval or on Poke, until ctx is done.
func (p *Pickup) Run(ctx context.Context) {
	p.init()
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if _, err := p.Once(); err != nil {
			p.Logger.Error("scanning the sendmail drop directory", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// Once does one pass over the drop directory and returns how many messages
// it moved into the queue. Only one Once may run at a time; Run calls it.
func (p *Pickup) Once() (int, error) {
	p.init()
	var found []spool.ScanResult
	// A repairing scan verifies every checksum, quarantines corrupt files
	// and removes temporary files older than the drop store's grace.
	err := p.Drop.Scan(true, func(r spool.ScanResult) { found = append(found, r) })
	seen := make(map[string]bool, len(found))
	picked := 0
	for _, r := range found {
		seen[r.ID] = true
		if r.Err != nil {
			p.fail(r.ID, r.Err)
			continue
		}
		m, err := p.transfer(r.Msg)
		if err != nil {
			p.fail(r.ID, err)
			continue
		}
		delete(p.reported, r.ID)
		p.MailLog.Record(maillog.Event{Kind: maillog.Accepted, QueueID: m.Env.ID, MessageID: m.Env.MessageID,
			Service: m.Env.Service, From: m.Env.From, Rcpts: len(m.Env.Rcpts), Size: m.BodyLen,
			Client: m.Env.Client, Stage: "sendmail"})
		p.Add(m)
		picked++
	}
	for id := range p.reported {
		if !seen[id] {
			delete(p.reported, id)
		}
	}
	return picked, err
}

// transfer moves one verified drop file into the queue and returns the
// message as loaded from the queue spool.
func (p *Pickup) transfer(m *spool.Message) (*spool.Message, error) {
	id := m.Env.ID
	if p.queued(id) {
		// A copy committed before a crash (or an earlier pass whose removal
		// failed): the queue has it, the drop file is a leftover.
		if err := p.Drop.Remove(id); err != nil {
			return nil, fmt.Errorf("removing drop file already queued: %w", err)
		}
		return p.Queue.Load(id)
	}
	if !canAdopt(filepath.Join(p.Drop.Dir(), id)) {
		return p.copy(m)
	}
	if err := p.Queue.Adopt(p.Drop, id); err != nil {
		return nil, err
	}
	return p.Queue.Load(id)
}

func (p *Pickup) queued(id string) bool {
	return p.Queue.Has(id)
}

// copy writes the message into the queue as a new durable file with the same
// id and envelope, then removes the drop file.
func (p *Pickup) copy(m *spool.Message) (*spool.Message, error) {
	body, err := p.Drop.OpenBody(m)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	env := m.Env
	w, err := p.Queue.Create(&env)
	if err != nil {
		return nil, err
	}
	if _, err := w.ReadFrom(body); err != nil {
		w.Abort()
		return nil, err
	}
	qm, err := w.Commit()
	if err != nil {
		return nil, err
	}
	if err := p.Drop.Remove(m.Env.ID); err != nil {
		// Queued all the same; the next pass removes the leftover.
		p.Logger.Warn("cannot remove picked up drop file", slog.String("queue_id", m.Env.ID),
			slog.String("error", err.Error()))
	}
	return qm, nil
}

// fail logs a file that could not be picked up, once per distinct error.
func (p *Pickup) fail(id string, err error) {
	msg := err.Error()
	if p.reported[id] == msg {
		return
	}
	p.reported[id] = msg
	p.Logger.Error("cannot pick up drop file", slog.String("queue_id", id), slog.String("error", msg))
}
