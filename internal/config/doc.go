// Package config is Posthorn's configuration: the typed Config, its
// defaults, strict loading from TOML, validation and the fingerprint of the
// running configuration.
//
// A configuration goes through these steps, in Load and Parse:
//
//  1. Parse: the document is read with go-toml's position-keeping parser.
//     A syntax error stops here and is reported with line and column. The
//     parse gives the line of every key (tables, dotted keys, array
//     elements) and finds the values that cannot go into their field: a
//     TOML type that does not fit (a string for an integer, an integer for
//     a duration, ...) or a duration or size that does not parse. Those
//     values are blanked out of the document (keeping every position).
//  2. Decode: the document is decoded strictly (unknown keys are errors)
//     over Default, so that absent keys keep their defaults. A value the
//     decoder still refuses (a key or table defined twice) is reported,
//     blanked out and the decode repeated, so that one bad value does not
//     hide the next. Unknown keys are reported together at the end.
//  3. Validate: Config.Validate checks every value and normalises the
//     configuration (canonical networks, upstreams with ports). A key whose
//     value was refused above is not checked again.
//
// Every problem of the three steps is returned at once as Errors, each
// naming the file, line and key: "posthorn.toml:7: delivery.tls: ...".
// A validation problem about a key that the file does not set (a default
// value) has no line. A Config without problems is ready to use; its
// Fingerprint identifies the effective settings, whatever the formatting
// of the file.
package config
