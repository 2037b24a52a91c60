// Package health runs Posthorn's built-in alert checks and reports them to
// monitoring: as JSON on GET /healthz, as a Nagios/Icinga plugin line for
// posthorn health --nagios, and as webhook notices on state changes.
//
// # Flow
//
// A Checker is built with the config.Alerts thresholds and a set of
// [Inputs] funcs the daemon wires to the queue, the courier, the stats
// store, the list store and the config reloader. Run calls Check at start
// and then every alerts.check_interval; Check evaluates every enabled
// check (a threshold of 0, or a nil input, leaves the check out), stores
// the resulting Report and, for every check whose state changed, logs the
// change and queues a webhook Notice. GET /healthz serves the stored
// Report; it never runs the checks itself.
//
// # States
//
// Each check is OK, WARNING, CRITICAL or UNKNOWN, and carries since when it
// has been in that state. A check that cannot read its input (a store
// error) is UNKNOWN. A check seen for the first time starts from OK, so a
// problem present at start-up is notified. The overall status is the
// worst state, ordered OK < WARNING < UNKNOWN < CRITICAL. /healthz answers
// HTTP 200 for OK and WARNING and 503 for CRITICAL and UNKNOWN.
//
// The severities are chosen so that what lost mail in 2018 pages and what
// needs attention within the day warns:
//
//   - oldest_queued: CRITICAL when the oldest queued message is older than
//     alerts.oldest_queued; mail is not leaving.
//   - all_upstreams_down: CRITICAL when every upstream has been down for
//     alerts.all_upstreams_down (counted from the last one to fail).
//   - upstream_down: WARNING when one upstream has been down for
//     alerts.upstream_down; failover still carries the mail.
//   - deferral_ratio: WARNING when deferred / (delivered + deferred) over
//     alerts.deferral_window exceeds alerts.deferral_ratio, judged only
//     with at least alerts.deferral_minimum attempts.
//   - service_silent: WARNING when a service that sent at least
//     alerts.silent_minimum messages in alerts.silent_history has been
//     silent for more than alerts.silent_factor times its usual gap
//     (silent_history / messages).
//   - held_messages: WARNING when more than alerts.held_messages list posts
//     are held for moderation; OK "no lists" without a list store.
//   - config_drift: WARNING when the file on disk has differed from the
//     running configuration for longer than alerts.config_drift.
//   - config_reload: WARNING from a failed reload until a reload succeeds.
//
// # Webhook
//
// With alerts.webhook_url set, every state change is POSTed as a JSON
// Notice {check, state, previous, message, since, host} by a background
// goroutine, one notice at a time, retried with exponential backoff. The
// checker never waits for it. While a notice waits, a newer change of the
// same check replaces it (keeping the state the receiver last heard of);
// a check that returns to that state sends nothing. So each change the
// receiver can observe is sent once (again only when an answer was lost
// and the POST is retried), and a flapping check sends one notice per
// change, never one per check run.
package health
