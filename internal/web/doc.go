// Package web is the core of Posthorn's web interface: who is asking
// (Viewer), the CSRF token of the request, and the page chrome every page is
// rendered in.
//
// A request passes through the middleware in this order: security headers →
// session (attaches the Viewer, or none for anonymous readers) → CSRF (every
// POST, PUT, PATCH and DELETE must carry the session's token in the form
// field CSRFField or the header CSRFHeader, else 403) → the page handler.
// Page handlers read the Viewer with ViewerFrom and the token with
// CSRFToken; they never see a request that failed the CSRF check.
//
// Rendering: a page executes its own template into the Layout with Render;
// errors are shown with Error, which never puts internal details (stack
// traces, SQL errors) in the response.
package web
