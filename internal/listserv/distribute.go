package listserv

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/spool"
)

const (
	distDistributing = "distributing"
	distDone         = "done"
	pageSize         = 1000 // members per spool file of a post
)

// progress is where the distribution of one post stands: every member
// with an address key up to After, and those in Also, got their copy.
type progress struct {
	After string   `json:"after"`
	Also  []string `json:"also,omitempty"`
}

// prune drops the entries of Also that After covers.
func (p progress) prune() progress {
	var also []string
	for _, a := range p.Also {
		if a > p.After {
			also = append(also, a)
		}
	}
	p.Also = also
	return p
}

func (p *progress) served(key string) bool {
	if key <= p.After {
		return true
	}
	for _, a := range p.Also {
		if a == key {
			return true
		}
	}
	return false
}

// distState reads the progress of (list, key); state "" when unknown.
func (s *Server) distState(ctx context.Context, list, key string) (state string, p progress, err error) {
	var cur string
	err = s.opts.DB.QueryRowContext(ctx, `SELECT state, cursor FROM listserv_dist WHERE list = ? AND msg_key = ?`,
		list, key).Scan(&state, &cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", p, nil
	}
	if err != nil {
		return "", p, fmt.Errorf("listserv: dist state: %w", err)
	}
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &p); err != nil {
			return "", p, fmt.Errorf("listserv: dist cursor: %w", err)
		}
	}
	return state, p, nil
}

func (s *Server) saveDist(ctx context.Context, list, key, state string, p progress, sent int) error {
	cur, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO listserv_dist (list, msg_key, state, cursor, sent, updated) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (list, msg_key) DO UPDATE SET state = excluded.state, cursor = excluded.cursor,
			sent = listserv_dist.sent + excluded.sent, updated = excluded.updated`,
		list, key, state, string(cur), sent, s.opts.Now().UnixNano())
}

// distribute sends post (known by key) to every member of l with delivery
// enabled that has not had it yet, and returns the number of copies
// submitted now. A post already distributed is not sent again. Members in
// digest mode (when the list has digests on) get it in the next digest
// instead; the archive gets it through Options.Archive (see archive.go).
func (s *Server) distribute(ctx context.Context, l *lists.List, msg *message, key string, stripBodyLine bool) (int, error) {
	list := l.Address()
	state, _, err := s.distState(ctx, list, key)
	if err != nil {
		return 0, err
	}
	if state == distDone {
		s.log.Info("listserv: post already distributed", slog.String("list", list), slog.String("key", key))
		return 0, nil
	}
	dmarc := s.dmarcAction(ctx, l, msg)
	out := s.prepare(l, msg, stripBodyLine, dmarc, true)
	if state == "" {
		if err := s.startDist(ctx, l, msg, key, out, func() *outPost {
			return s.prepare(l, msg, stripBodyLine, dmarc, false)
		}); err != nil {
			return 0, err
		}
	}
	digests := l.Settings.DigestEnabled
	n, err := s.fanout(ctx, l, key, out, func(m *lists.Member) bool {
		return !digests || m.Mode != lists.ModeDigest
	})
	if err != nil {
		return n, err
	}
	s.archiveJob(ctx, list, key)
	return n, nil
}

// startDist records, in one transaction, that the distribution of key
// began, the archive job and the digest entry: a crash before the commit
// leaves nothing, after it everything, so each happens once.
func (s *Server) startDist(ctx context.Context, l *lists.List, msg *message, key string, out *outPost, digestForm func() *outPost) error {
	list := l.Address()
	digest := false
	if l.Settings.DigestEnabled {
		page, err := s.opts.Lists.Members(ctx, list, lists.MemberQuery{Role: lists.RoleMember, Mode: lists.ModeDigest, Limit: 1})
		if err != nil {
			return err
		}
		digest = len(page.Members) > 0
	}
	tx, err := s.opts.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("listserv: %w", err)
	}
	defer tx.Rollback()
	now := s.opts.Now().UnixNano()
	res, err := tx.ExecContext(ctx, `INSERT INTO listserv_dist (list, msg_key, state, cursor, sent, updated)
		VALUES (?, ?, ?, '{}', 0, ?) ON CONFLICT DO NOTHING`, list, key, distDistributing, now)
	if err != nil {
		return fmt.Errorf("listserv: dist start: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // started concurrently
	}
	if s.opts.Archive != nil && l.Settings.ArchivePolicy.Archived() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO listserv_archive (list, msg_key, raw, created) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, list, key, s.archiveForm(out), now); err != nil {
			return fmt.Errorf("listserv: archive job: %w", err)
		}
	}
	if digest {
		d := digestForm()
		raw := append(append(append([]byte(nil), d.header...), "\r\n"...), d.body...)
		if _, err := tx.ExecContext(ctx, `INSERT INTO listserv_digest_entry (list, msg_key, subject, sender, raw, size, added)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			list, key, msg.subject(), msg.get("From"), raw, len(raw), now); err != nil {
			return fmt.Errorf("listserv: digest entry: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("listserv: dist start: %w", err)
	}
	return nil
}

// fanout submits out to every member of l with delivery enabled for whom
// want is true, going on from the progress saved under key, and marks key
// done at the end.
func (s *Server) fanout(ctx context.Context, l *lists.List, key string, out *outPost, want func(*lists.Member) bool) (int, error) {
	list := l.Address()
	state, prog, err := s.distState(ctx, list, key)
	if err != nil || state == distDone {
		return 0, err
	}
	total := 0
	q := lists.MemberQuery{Role: lists.RoleMember, Limit: pageSize}
	for range 1 << 20 { // bounded: 500M members
		page, err := s.opts.Lists.Members(ctx, list, q)
		if err != nil {
			return total, err
		}
		var todo []*lists.Member
		for _, m := range page.Members {
			if m.Delivery == lists.DeliveryEnabled && want(m) && !prog.served(strings.ToLower(m.Address)) {
				todo = append(todo, m)
			}
		}
		sent, subErr := s.submitPage(ctx, out, todo)
		prog = advance(prog, todo, sent, page.Members)
		n := 0
		for _, ok := range sent {
			if ok {
				n++
			}
		}
		total += n
		if err := s.saveDist(ctx, list, key, distDistributing, prog, n); err != nil {
			return total, err
		}
		if subErr != nil {
			return total, subErr
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if err := s.saveDist(ctx, list, key, distDone, progress{}, 0); err != nil {
		return total, err
	}
	return total, nil
}

// advance moves the cursor past the members served in this page. When the
// page was not completed, the cursor stops before the first failure and
// later successes are remembered in Also.
func advance(p progress, todo []*lists.Member, sent []bool, page []*lists.Member) progress {
	i := 0
	for i < len(sent) && sent[i] {
		i++
	}
	if i == len(todo) {
		// Whole page served (members skipped as disabled count as done).
		if n := len(page); n > 0 {
			p.After = max(p.After, strings.ToLower(page[n-1].Address))
		}
		return p.prune()
	}
	if i > 0 {
		p.After = max(p.After, strings.ToLower(todo[i-1].Address))
	}
	for j := i; j < len(sent); j++ {
		if sent[j] {
			p.Also = append(p.Also, strings.ToLower(todo[j].Address))
		}
	}
	return p
}

// submitPage writes the post once for members: one spool file whose
// envelope asks for personalized delivery (spool.Envelope.Personal), so
// each member still gets a copy with their own VERP sender and unsubscribe
// link, made at delivery by Personalize. The page is submitted whole or
// not at all; sent says which members it covers.
func (s *Server) submitPage(ctx context.Context, out *outPost, members []*lists.Member) ([]bool, error) {
	sent := make([]bool, len(members))
	if len(members) == 0 {
		return sent, nil
	}
	if err := ctx.Err(); err != nil {
		return sent, err
	}
	list := out.list.Address()
	env := &spool.Envelope{
		From:      lists.CompanionAddress(list, lists.AddrBounces),
		Rcpts:     make([]string, len(members)),
		Arrival:   s.opts.Now(),
		MessageID: out.msgID,
		Service:   "lists",
		Client:    "local",
		Personal:  list,
	}
	for i, m := range members {
		env.Rcpts[i] = m.Address
		env.SMTPUTF8 = env.SMTPUTF8 || !isASCII(m.Address)
	}
	body := io.MultiReader(bytes.NewReader(out.header), strings.NewReader("\r\n"), bytes.NewReader(out.body))
	if _, err := s.opts.Submit(env, body); err != nil {
		return sent, fmt.Errorf("submit post for %d members: %w", len(members), err)
	}
	for i := range sent {
		sent[i] = true
	}
	return sent, nil
}

// Personalize makes one member's copy of a post written by submitPage: it
// is the queue's Personalizer. The sender is the member's VERP bounce
// address; the header fields are the member's List-Unsubscribe links.
func (s *Server) Personalize(env *spool.Envelope, rcpt string) (from string, head []byte, err error) {
	list := env.Personal
	if !strings.Contains(list, "@") {
		return "", nil, fmt.Errorf("listserv: personalize: %q is not a list address", list)
	}
	return lists.BounceAddress(list, rcpt), s.memberHeader(list, rcpt), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
