package accounts

import (
	"fmt"
	"time"
)

// NotFoundError says that a user, session, token or reset does not exist
// (or has expired, been used or revoked: the caller cannot tell, by design).
type NotFoundError struct {
	What string
	Key  string // empty for secrets
}

func (e *NotFoundError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("accounts: no such %s", e.What)
	}
	return fmt.Sprintf("accounts: no such %s %q", e.What, e.Key)
}

// ExistsError says that a user already exists.
type ExistsError struct {
	What string
	Key  string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("accounts: %s %q already exists", e.What, e.Key)
}

// InvalidError says that an input is not acceptable (an address, a
// password too short).
type InvalidError struct {
	Field   string
	Problem string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("accounts: %s: %s", e.Field, e.Problem) }

// CredentialsError is a failed login: unknown address, wrong password or a
// disabled account. It deliberately does not say which.
type CredentialsError struct{}

func (*CredentialsError) Error() string { return "accounts: wrong address or password" }

// LockedError refuses a login because of earlier failures, until Until.
// Client is true when the client IP is locked rather than the account.
type LockedError struct {
	Until  time.Time
	Client bool
}

func (e *LockedError) Error() string {
	what := "account"
	if e.Client {
		what = "client"
	}
	return fmt.Sprintf("accounts: %s locked after repeated failed logins until %s", what, e.Until.UTC().Format(time.RFC3339))
}
