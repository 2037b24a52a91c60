package web

import "context"

// Viewer is the logged-in user of a request. Roles on lists are not kept
// here: they come from the lists store (owner, moderator and member rows
// for Viewer.Email), so that granting a role on a list is one change.
type Viewer struct {
	UserID    int64
	Email     string // lower-cased address, the login name
	Name      string
	SiteAdmin bool
}

// CSRFField is the hidden form field that carries the CSRF token; CSRFHeader
// is the header that may carry it instead (for fetch requests).
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

type ctxKey int

const (
	viewerKey ctxKey = iota
	csrfKey
)

// WithViewer returns ctx carrying v (nil for anonymous).
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey, v)
}

// ViewerFrom returns the request's viewer, or nil for an anonymous reader.
func ViewerFrom(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey).(*Viewer)
	return v
}

// WithCSRF returns ctx carrying the CSRF token forms must echo.
func WithCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey, token)
}

// CSRFToken returns the token to put in the form field CSRFField.
func CSRFToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey).(string)
	return t
}
