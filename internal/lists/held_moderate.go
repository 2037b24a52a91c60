package lists

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Moderate applies a moderator's decision to held post id of list and
// returns the post as it was before (with its message). approve,
// accept-always, reject and discard take it out of the queue (clearing the
// stored message); defer leaves it held. accept-always also sets the
// sender's own moderation action to accept. A post that has already left
// the queue is a *HeldStateError.
func (s *Store) Moderate(ctx context.Context, list string, id int64, action ModAction, reason, moderator string) (*HeldPost, error) {
	if _, err := ParseModAction(string(action)); err != nil {
		return nil, err
	}
	h, err := s.GetHeld(ctx, list, id)
	if err != nil {
		return nil, err
	}
	if h.State != HeldWaiting {
		return nil, &HeldStateError{ID: id, State: h.State}
	}
	if action == ModDefer {
		return h, nil
	}
	if action == ModAcceptAlways {
		if err := s.alwaysAccept(ctx, list, h.Sender); err != nil {
			return nil, err
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE held SET state = ?, moderator = ?, mod_reason = ?, resolved = ?, raw = NULL
		WHERE id = ? AND state = ?`, string(action.state()), moderator, reason, s.now().UnixNano(), id, string(HeldWaiting))
	if err != nil {
		return nil, fmt.Errorf("lists: moderate %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Another moderator was quicker.
		cur, err := s.GetHeld(ctx, list, id)
		if err != nil {
			return nil, err
		}
		return nil, &HeldStateError{ID: id, State: cur.State}
	}
	return h, nil
}

// alwaysAccept sets addr's own moderation action to accept: on its member
// row (or moderator, owner) when it has one, else on a nonmember row,
// created if needed.
func (s *Store) alwaysAccept(ctx context.Context, list, addr string) error {
	if addr == "" {
		return &InvalidError{Field: "sender", Value: "", Problem: "held post has no sender to accept"}
	}
	accept := Accept
	var nf *NotFoundError
	for _, role := range []Role{RoleMember, RoleModerator, RoleOwner} {
		err := s.SetModeration(ctx, list, addr, role, &accept)
		if err == nil {
			return nil
		}
		if !errors.As(err, &nf) {
			return err
		}
	}
	_, err := s.AddMember(ctx, list, NewMember{Address: addr, Role: RoleNonmember, Moderation: &accept})
	var ex *ExistsError
	if errors.As(err, &ex) {
		return s.SetModeration(ctx, list, addr, RoleNonmember, &accept)
	}
	return err
}

// ModerateMany applies one decision to several held posts of list and
// reports per post. The error is for failures of the whole operation (no
// such list, database errors).
func (s *Store) ModerateMany(ctx context.Context, list string, ids []int64, action ModAction, reason, moderator string) ([]HeldResult, error) {
	if _, err := ParseModAction(string(action)); err != nil {
		return nil, err
	}
	if _, _, err := s.listID(ctx, s.db, list); err != nil {
		return nil, err
	}
	out := make([]HeldResult, len(ids))
	for i, id := range ids {
		out[i].ID = id
		h, err := s.Moderate(ctx, list, id, action, reason, moderator)
		var nf *NotFoundError
		var se *HeldStateError
		switch {
		case err == nil:
			out[i].Post = h
		case errors.As(err, &nf) || errors.As(err, &se):
			out[i].Err = err
		default:
			return out, err
		}
	}
	return out, nil
}

// ExpireHeld moves every held post whose expiry is at or before now to
// "expired" and returns them with their messages, so that the caller can
// notify the senders.
func (s *Store) ExpireHeld(ctx context.Context, now time.Time) ([]*HeldPost, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+heldCols+`, h.raw FROM held h JOIN lists l ON l.id = h.list_id
		WHERE h.state = ? AND h.expires <= ? ORDER BY h.id LIMIT 1000`, string(HeldWaiting), now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("lists: expire held: %w", err)
	}
	var found []*HeldPost
	for rows.Next() {
		var raw []byte
		h, err := scanHeld(rows, &raw)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("lists: expire held: %w", err)
		}
		h.Raw = raw
		found = append(found, h)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("lists: expire held: %w", err)
	}
	var out []*HeldPost
	for _, h := range found {
		res, err := s.db.ExecContext(ctx, `UPDATE held SET state = ?, resolved = ?, raw = NULL, mod_reason = ?
			WHERE id = ? AND state = ?`, string(HeldExpired), now.UnixNano(), "expired", h.ID, string(HeldWaiting))
		if err != nil {
			return out, fmt.Errorf("lists: expire held %d: %w", h.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out = append(out, h)
		}
	}
	return out, nil
}
