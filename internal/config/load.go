package config

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Load reads the file at path and returns its configuration: Default with
// the keys of the file applied, validated and normalised. Problems with the
// content are returned together as Errors naming path; a file that cannot
// be read gives the *fs.PathError of os.ReadFile.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse is Load for a document already in memory; name is used in problems.
func Parse(name string, data []byte) (*Config, error) {
	cfg, _, err := parse(name, data)
	return cfg, err
}

// parse is Parse, also returning the document's index (the line of each
// key) when the configuration is good.
func parse(name string, data []byte) (*Config, *docIndex, error) {
	idx, syntax := indexDocument(data)
	if syntax != nil {
		syntax.File = name
		return nil, nil, Errors{syntax}
	}
	work := bytes.Clone(data)
	var errs Errors
	for _, ip := range idx.problems {
		ip.problem.Line = idx.lines[ip.problem.Key]
		errs = append(errs, ip.problem)
		blank(work, ip.blank)
	}
	cfg, decodeErrs := decode(work, idx)
	errs = append(errs, decodeErrs...)
	if cfg != nil {
		refused := slices.Clip(errs)
		for _, p := range cfg.Validate() {
			if covered(refused, p.Key) {
				continue // the value was refused already; its default is checked instead
			}
			p.Line = keyLine(idx.lines, p.Key)
			if p.Line == 0 && p.alt != nil && idx.lines[p.alt.Key] > 0 {
				p = p.alt
				p.Line = idx.lines[p.Key]
			}
			errs = append(errs, p)
		}
	}
	if len(errs) == 0 {
		return cfg, idx, nil
	}
	for _, p := range errs {
		p.File = name
	}
	// Sort by line; problems about defaults (line 0) go last.
	slices.SortStableFunc(errs, func(a, b *Problem) int {
		return lineOrder(a.Line) - lineOrder(b.Line)
	})
	return nil, nil, errs
}

func lineOrder(line int) int {
	if line == 0 {
		return int(^uint(0) >> 2)
	}
	return line
}

// covered reports whether one of errs is about key, a part of it or a
// value containing it.
func covered(errs Errors, key string) bool {
	for _, p := range errs {
		if p.Key != "" && keyCovers(p.Key, key) {
			return true
		}
	}
	return false
}

// blank replaces the bytes of s in doc by spaces, keeping line breaks so
// that every position stays where it was.
func blank(doc []byte, s span) {
	for i := max(s.start, 0); i < s.end && i < len(doc); i++ {
		if doc[i] != '\n' && doc[i] != '\r' {
			doc[i] = ' '
		}
	}
}

// decode decodes doc strictly into Default. The decoder stops at the first
// value it cannot store; that value is reported, blanked out and the
// document decoded again, so that every such value is reported. Unknown keys
// are reported all at once by the strict decoder at the end.
func decode(doc []byte, idx *docIndex) (*Config, Errors) {
	var errs Errors
	removed := make(map[int]bool)
	for range len(idx.entries) + 1 {
		cfg := Default()
		dec := toml.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		err := dec.Decode(cfg)
		if err == nil {
			return cfg, errs
		}
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return cfg, append(errs, unknownKeys(strict, doc, idx)...)
		}
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			return nil, append(errs, &Problem{Msg: err.Error()})
		}
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if strings.Contains(msg, "already defined") {
			msg = "defined more than once"
		}
		i := idx.entryAt(offsetOf(doc, line, col))
		if i < 0 || removed[i] {
			// Nothing to take out: report where the decoder stopped.
			return nil, append(errs, &Problem{Line: line, Column: col, Key: dottedKey(de.Key()), Msg: msg})
		}
		removed[i] = true
		e := idx.entries[i]
		errs = append(errs, &Problem{Line: e.line, Key: e.key, Msg: msg})
		blank(doc, e.blank)
	}
	return nil, errs
}

// entryAt returns the index of the innermost entry whose area contains
// offset, or -1.
func (idx *docIndex) entryAt(offset int) int {
	best := -1
	for i, e := range idx.entries {
		if e.area.contains(offset) && (best < 0 || e.area.end-e.area.start <= idx.entries[best].area.end-idx.entries[best].area.start) {
			best = i
		}
	}
	return best
}

// offsetOf converts a 1-based line and byte column into an offset.
func offsetOf(doc []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(doc[off:], '\n')
		if i < 0 {
			return len(doc)
		}
		off += i + 1
	}
	return off + col - 1
}

func dottedKey(parts []string) string {
	key := ""
	for _, p := range parts {
		key = joinPart(key, p)
	}
	return key
}

// joinPart is joinKey, also for the parts that stand for an element of an
// array of tables (elemPart).
func joinPart(key, part string) string {
	if strings.HasPrefix(part, elemMark) {
		return key + part[len(elemMark):]
	}
	return joinKey(key, part)
}

// withoutElems returns parts without the elemPart parts.
func withoutElems(parts []string) []string {
	return slices.DeleteFunc(slices.Clone(parts), func(p string) bool { return strings.HasPrefix(p, elemMark) })
}

// unknownKeys turns the strict decoder's report into one problem per key,
// naming the first part of each key that is unknown.
func unknownKeys(strict *toml.StrictMissingError, doc []byte, idx *docIndex) Errors {
	var errs Errors
	seen := make(map[string]bool)
	for _, de := range strict.Errors {
		line, col := de.Position()
		parts := de.Key()
		// Inside an inline table the decoder names the key relative to
		// the table; the index knows the whole key.
		if i := idx.entryAt(offsetOf(doc, line, col)); i >= 0 {
			full := idx.entries[i].parts
			if bare := withoutElems(full); len(bare) >= len(parts) && slices.Equal(bare[len(bare)-len(parts):], parts) {
				parts = full
			}
		}
		key, t := "", reflect.TypeFor[Config]()
		msg := "unknown key"
		for i, part := range parts {
			prefix := key
			key = joinPart(key, part)
			next := childType(t, part)
			if next != nil {
				t = next
				continue
			}
			if i < len(parts)-1 || strings.Contains(de.Error(), "missing table") {
				msg = "unknown table"
			}
			if t != nil && t.Kind() == reflect.Struct {
				if s := suggest(part, tagNames(t)); s != "" {
					msg += "; did you mean " + joinKey(prefix, s) + "?"
				}
			}
			break
		}
		if !seen[key] {
			seen[key] = true
			errs = append(errs, &Problem{Line: line, Key: key, Msg: msg})
		}
	}
	return errs
}
