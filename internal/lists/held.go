package lists

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The moderation queue keeps the posts the chain held, with the whole
// message, until a moderator decides or they expire:
//
//	Hold ──▶ held ──Moderate approve / accept-always──▶ approved
//	              ──Moderate reject──────────────────▶ rejected
//	              ──Moderate discard─────────────────▶ discarded
//	              ──ExpireHeld (expiry passed)───────▶ expired
//	              ──Moderate defer───────────────────▶ held (unchanged)
//
// Leaving "held" clears the stored message; the row stays as a record of
// who decided what. Moderate only changes the row: delivering an approved
// post or telling the sender of a rejection is the caller's job, to do
// before calling Moderate, so that a failure leaves the post held.

// HeldState is where a held post stands.
type HeldState string

const (
	HeldWaiting   HeldState = "held"
	HeldApproved  HeldState = "approved"
	HeldRejected  HeldState = "rejected"
	HeldDiscarded HeldState = "discarded"
	HeldExpired   HeldState = "expired"
)

// ModAction is a moderator's decision on a held post.
type ModAction string

const (
	ModApprove ModAction = "approve"
	ModReject  ModAction = "reject" // the reason goes to the sender
	ModDiscard ModAction = "discard"
	// ModAcceptAlways approves and sets the sender's own moderation action
	// to accept (as member when it is one, else as a known nonmember).
	ModAcceptAlways ModAction = "accept-always"
	ModDefer        ModAction = "defer" // leave the post held
)

// ParseModAction parses s (case-insensitive).
func ParseModAction(s string) (ModAction, error) {
	a := ModAction(strings.ToLower(strings.TrimSpace(s)))
	switch a {
	case ModApprove, ModReject, ModDiscard, ModAcceptAlways, ModDefer:
		return a, nil
	}
	return "", &InvalidError{Field: "moderation action", Value: s, Problem: "want approve, reject, discard, accept-always or defer"}
}

func (a ModAction) state() HeldState {
	switch a {
	case ModApprove, ModAcceptAlways:
		return HeldApproved
	case ModReject:
		return HeldRejected
	case ModDiscard:
		return HeldDiscarded
	}
	return HeldWaiting
}

// HeldPost is a post in the moderation queue.
type HeldPost struct {
	ID           int64
	List         string // posting address
	Key          string // idempotency key: Message-ID, or a digest
	MessageID    string
	EnvelopeFrom string
	Sender       string // the poster the chain saw
	Member       bool
	Subject      string
	DecisionID   int64
	Rule         string
	Reason       string
	Size         int64
	// Raw is the whole message; only GetHeld and ExpireHeld fill it.
	Raw       []byte
	State     HeldState
	Held      time.Time
	Expires   time.Time
	Notified  bool // moderators were told
	Moderator string
	ModReason string
	Resolved  time.Time // zero while held
}

// NewHeld describes a post to hold.
type NewHeld struct {
	// Key identifies the post for idempotency; the Decision's MessageID
	// when empty. Holding a key that is already held returns that post.
	Key          string
	EnvelopeFrom string
	Subject      string
	Decision     Decision
	Raw          []byte
	Expires      time.Time
}

// HeldStateError says that a held post has already left the queue.
type HeldStateError struct {
	ID    int64
	State HeldState
}

func (e *HeldStateError) Error() string {
	return fmt.Sprintf("lists: held post %d is no longer held (%s)", e.ID, e.State)
}

// HeldResult is the outcome of one post of ModerateMany: Err is nil, a
// *NotFoundError or a *HeldStateError.
type HeldResult struct {
	ID   int64
	Post *HeldPost
	Err  error
}

const heldCols = `h.id, l.name, l.domain, h.msg_key, h.message_id, h.envelope_from, h.sender, h.member, h.subject,
	h.decision_id, h.rule, h.reason, h.size, h.state, h.held_at, h.expires, h.notified, h.moderator, h.mod_reason, h.resolved`

func scanHeld(row interface{ Scan(...any) error }, extra ...any) (*HeldPost, error) {
	var h HeldPost
	var name, domain string
	var at, exp, res int64
	dest := []any{&h.ID, &name, &domain, &h.Key, &h.MessageID, &h.EnvelopeFrom, &h.Sender, &h.Member, &h.Subject,
		&h.DecisionID, &h.Rule, &h.Reason, &h.Size, &h.State, &at, &exp, &h.Notified, &h.Moderator, &h.ModReason, &res}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	h.List = name + "@" + domain
	h.Held, h.Expires = time.Unix(0, at), time.Unix(0, exp)
	if res != 0 {
		h.Resolved = time.Unix(0, res)
	}
	return &h, nil
}

// Hold stores a post in list's moderation queue. created is false when a
// post with the same key was already held (a retried delivery); that post
// is returned.
func (s *Store) Hold(ctx context.Context, list string, nh NewHeld) (post *HeldPost, created bool, err error) {
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, false, err
	}
	key := nh.Key
	if key == "" {
		key = nh.Decision.MessageID
	}
	if key == "" {
		return nil, false, &InvalidError{Field: "held key", Value: "", Problem: "need a key or a Message-ID"}
	}
	d := nh.Decision
	res, err := s.db.ExecContext(ctx, `INSERT INTO held (list_id, msg_key, message_id, envelope_from, sender, member, subject,
		decision_id, rule, reason, size, raw, state, held_at, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		id, key, d.MessageID, nh.EnvelopeFrom, d.Poster, d.Member, nh.Subject, d.ID, d.Rule, d.Reason,
		int64(len(nh.Raw)), nh.Raw, string(HeldWaiting), s.now().UnixNano(), nh.Expires.UnixNano())
	if err != nil {
		return nil, false, fmt.Errorf("lists: hold: %w", err)
	}
	n, _ := res.RowsAffected()
	h, err := scanHeld(s.db.QueryRowContext(ctx, `SELECT `+heldCols+` FROM held h JOIN lists l ON l.id = h.list_id
		WHERE h.list_id = ? AND h.msg_key = ? AND h.state = ?`, id, key, string(HeldWaiting)))
	if err != nil {
		return nil, false, fmt.Errorf("lists: hold: %w", err)
	}
	return h, n == 1, nil
}

// Held returns up to limit (default 100, at most 1000) posts still held on
// list with an id above after, oldest first, without their messages.
func (s *Store) Held(ctx context.Context, list string, limit int, after int64) ([]*HeldPost, error) {
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	return s.queryHeld(ctx, `WHERE h.list_id = ? AND h.state = ? AND h.id > ? ORDER BY h.id LIMIT ?`,
		id, string(HeldWaiting), after, limit)
}

// UnnotifiedHeld returns up to limit posts of list still held whose
// moderators were not told yet, oldest first.
func (s *Store) UnnotifiedHeld(ctx context.Context, list string, limit int) ([]*HeldPost, error) {
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, err
	}
	return s.queryHeld(ctx, `WHERE h.list_id = ? AND h.state = ? AND h.notified = 0 ORDER BY h.id LIMIT ?`,
		id, string(HeldWaiting), max(limit, 1))
}

// ListsWithUnnotifiedHeld returns the posting addresses of the lists that
// have held posts whose moderators were not told yet.
func (s *Store) ListsWithUnnotifiedHeld(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT l.name, l.domain FROM held h JOIN lists l ON l.id = h.list_id
		WHERE h.state = ? AND h.notified = 0 ORDER BY l.domain, l.name`, string(HeldWaiting))
	if err != nil {
		return nil, fmt.Errorf("lists: held: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, domain string
		if err := rows.Scan(&name, &domain); err != nil {
			return nil, fmt.Errorf("lists: held: %w", err)
		}
		out = append(out, name+"@"+domain)
	}
	return out, rows.Err()
}

// MarkHeldNotified records that moderators were told about the posts ids.
func (s *Store) MarkHeldNotified(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if _, err := s.db.ExecContext(ctx, `UPDATE held SET notified = 1 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("lists: held %d: %w", id, err)
		}
	}
	return nil
}

func (s *Store) queryHeld(ctx context.Context, where string, args ...any) ([]*HeldPost, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+heldCols+` FROM held h JOIN lists l ON l.id = h.list_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("lists: held: %w", err)
	}
	defer rows.Close()
	var out []*HeldPost
	for rows.Next() {
		h, err := scanHeld(rows)
		if err != nil {
			return nil, fmt.Errorf("lists: held: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// GetHeld returns one post of list's queue, in any state, with its message
// (nil once it has left the queue).
func (s *Store) GetHeld(ctx context.Context, list string, id int64) (*HeldPost, error) {
	lid, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, err
	}
	var raw []byte
	h, err := scanHeld(s.db.QueryRowContext(ctx, `SELECT `+heldCols+`, h.raw FROM held h JOIN lists l ON l.id = h.list_id
		WHERE h.id = ? AND h.list_id = ?`, id, lid), &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: "held post", Key: fmt.Sprint(id)}
	}
	if err != nil {
		return nil, fmt.Errorf("lists: held %d: %w", id, err)
	}
	h.Raw = raw
	return h, nil
}

// CountHeld returns the number of posts held on all lists.
func (s *Store) CountHeld(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM held WHERE state = ?`, string(HeldWaiting)).Scan(&n); err != nil {
		return 0, fmt.Errorf("lists: count held: %w", err)
	}
	return n, nil
}
