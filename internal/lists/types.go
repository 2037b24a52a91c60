package lists

import (
	"fmt"
	"strings"
)

// Action is what the chain (or a member's moderation setting) does with a post.
type Action string

const (
	Accept  Action = "accept"
	Hold    Action = "hold"
	Reject  Action = "reject"  // refuse and send the poster a notice
	Discard Action = "discard" // drop silently
	// Defer makes no decision: the chain goes on to the next rule. As a
	// member's or nonmember's action it means "moderate like anybody else".
	Defer Action = "defer"
)

// Valid reports whether a is one of the known actions.
func (a Action) Valid() bool {
	switch a {
	case Accept, Hold, Reject, Discard, Defer:
		return true
	}
	return false
}

// ParseAction parses s (case-insensitive).
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	if !a.Valid() {
		return "", &InvalidError{Field: "action", Value: s, Problem: "want accept, hold, reject, discard or defer"}
	}
	return a, nil
}

// Role is what an address is to a list.
type Role string

const (
	RoleMember    Role = "member"
	RoleModerator Role = "moderator"
	RoleOwner     Role = "owner"
	// RoleNonmember records a known non-subscriber, to give its posts an
	// action of their own (for example "always accept this sender").
	RoleNonmember Role = "nonmember"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleMember, RoleModerator, RoleOwner, RoleNonmember:
		return true
	}
	return false
}

// Delivery is a member's delivery status.
type Delivery string

const (
	DeliveryEnabled        Delivery = "enabled"
	DeliveryDisabledBounce Delivery = "disabled-bounce"
	DeliveryDisabledSelf   Delivery = "disabled-self"
	DeliveryDisabledOwner  Delivery = "disabled-owner"
)

// Valid reports whether d is a known delivery status.
func (d Delivery) Valid() bool {
	switch d {
	case DeliveryEnabled, DeliveryDisabledBounce, DeliveryDisabledSelf, DeliveryDisabledOwner:
		return true
	}
	return false
}

// Policy is a list's subscription policy.
type Policy string

const (
	PolicyOpen                Policy = "open"
	PolicyConfirm             Policy = "confirm"
	PolicyModerate            Policy = "moderate"
	PolicyConfirmThenModerate Policy = "confirm-then-moderate"
)

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool {
	switch p {
	case PolicyOpen, PolicyConfirm, PolicyModerate, PolicyConfirmThenModerate:
		return true
	}
	return false
}

// NotFoundError says that a list, member or token does not exist.
type NotFoundError struct {
	What string // "list", "member", "pending subscription", "token"
	Key  string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("lists: no such %s %q", e.What, e.Key) }

// ExistsError says that a list or member already exists.
type ExistsError struct {
	What string
	Key  string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("lists: %s %q already exists", e.What, e.Key)
}

// InvalidError says that an input value is malformed.
type InvalidError struct {
	Field   string
	Value   string
	Problem string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("lists: invalid %s %q: %s", e.Field, e.Value, e.Problem)
}

// TokenError says that a confirmation token is unknown or expired.
type TokenError struct {
	Expired bool
}

func (e *TokenError) Error() string {
	if e.Expired {
		return "lists: confirmation token expired"
	}
	return "lists: unknown confirmation token"
}
