// Package config is Posthorn's configuration: the typed Config, its
// defaults, strict loading from TOML, validation and the fingerprint of the
// running configuration.
//
// A configuration goes through these steps, in Load and Parse:
//
//  1. Parse: the document is read with go-toml's position-keeping parser.
//     A syntax error stops here and is reported with line and column. The
//     parse gives the line of every key (tables, dotted keys, array
//     elements) and finds values whose TOML type cannot fit their field
//     (a string for an integer, an integer for a duration, ...).
//  2. Decode: the document is decoded strictly (unknown keys are errors)
//     over Default, so that absent keys keep their defaults. A value the
//     decoder refuses (an invalid duration or size, a key defined twice) is
//     reported, blanked out of the document and the decode repeated, so
//     that one bad value does not hide the next.
//  3. Validate: Config.Validate checks every value and normalises the
//     configuration (canonical networks, upstreams with ports).
//
// Every problem of the three steps is returned at once as Errors, each
// naming the file, line and key: "posthorn.toml:7: delivery.tls: ...".
// A validation problem about a key that the file does not set (a default
// value) has no line. A Config without problems is ready to use; its
// Fingerprint identifies the effective settings, whatever the formatting
// of the file.
package config
