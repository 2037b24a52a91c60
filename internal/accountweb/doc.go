// Package accountweb serves the self-service account pages of the web
// interface, for any logged-in user whatever their role: who they are and
// which roles they hold, changing their own password, and their own API
// tokens.
//
// The middleware of package web has already attached the Viewer and the
// session's CSRF token and refused unsafe requests without it; every route
// here is wrapped in web.RequireLogin (an anonymous GET goes to the login
// page, an anonymous POST gets 403). A user only ever acts on their own
// account: the user id comes from the session, never from the form, and a
// token id in a URL is looked up among the viewer's own tokens only.
//
// # Changing the password
//
//	POST /account/password ─ new passwords differ ─────────────▶ 422, nothing changed
//	                       ─ new one breaks the rules ─────────▶ 422, nothing changed
//	                       ─ current one wrong ────────────────▶ 403, counted as a failed login
//	                       ─ account locked (too many failures) ▶ 429
//	                       └ accounts.ChangePassword ─▶ hash stored, reset links used up,
//	                           every other session ended, this one kept ─▶ audit
//	                           "password.change" ─▶ 303 /account?done=password
//
// # API tokens
//
//	POST /account/tokens ─ bad name ─▶ 422
//	                     └ accounts.CreateAPIToken ─▶ audit "token.create" ─▶ 200 page
//	                         showing the secret once (never stored, never shown again)
//	POST /account/tokens/{id}/revoke ─ not one of the viewer's tokens ─▶ 404, nothing revoked
//	                                 └ revoked ─▶ audit "token.revoke" ─▶ 303 /account?done=revoked
//
// A token acts as its user, with the same access as their login, and only
// under /api/ (see web.Auth.Middleware).
package accountweb
