package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// span is the byte range [start, end) of the document.
type span struct{ start, end int }

func (s span) contains(off int) bool { return off >= s.start && off < s.end }

// docEntry is one keyed thing in the document: a table header, a key-value,
// an array element or a key-value inside an inline table.
type docEntry struct {
	key   string   // dotted key, with [i] for array elements
	parts []string // the parts of key; nil for array elements
	line  int      // line of the key (of the value, for array elements)
	area  span     // bytes that an error about this entry points into
	blank span     // bytes to blank out to remove the entry from the document
}

// docIndex is what the parse of a document tells about it: where each key
// is, and the values whose TOML type does not fit the Go type of their field.
type docIndex struct {
	entries  []docEntry
	lines    map[string]int // key -> line of its first appearance
	problems []indexProblem // type mismatches found while walking
}

// indexProblem is a type mismatch found by indexDocument, with the bytes to
// blank so that the decoder does not trip over it.
type indexProblem struct {
	problem *Problem
	blank   span
}

// syntaxError turns a parser error into a problem with line and column.
func syntaxError(p *unstable.Parser, err error) *Problem {
	pe, ok := err.(*unstable.ParserError)
	if !ok {
		return &Problem{Msg: "syntax error: " + err.Error()}
	}
	sh := p.Shape(p.Range(pe.Highlight))
	return &Problem{Line: sh.Start.Line, Column: sh.Start.Column, Msg: "syntax error: " + pe.Message}
}

// indexDocument parses data with the position-keeping parser of go-toml and
// builds the document's index. A syntax error is returned as a problem.
func indexDocument(data []byte) (*docIndex, *Problem) {
	w := &walker{idx: &docIndex{lines: make(map[string]int)}, data: data}
	w.p.Reset(data)
	var tableKey []string
	tableType := reflect.TypeFor[Config]()
	header := -1                  // entry index of the current table header
	elems := make(map[string]int) // [[key]] tables seen so far, by key
	for w.p.NextExpression() {
		e := w.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			first := e.Key()
			first.Next()
			start := int(first.Node().Raw.Offset)
			for start > 0 && (data[start-1] == '[' || data[start-1] == ' ' || data[start-1] == '\t') {
				start--
			}
			if header >= 0 {
				w.idx.entries[header].blank.end = start
			}
			header = len(w.idx.entries)
			k := w.walkKey(nil, reflect.TypeFor[Config](), e, span{-1, header})
			elem := e.Kind == unstable.ArrayTable && k.typ != nil && k.typ.Kind() == reflect.Slice && isTable(k.typ.Elem())
			if elem {
				// [[test]] is the next element of the array "test": "test[i]".
				n := elems[k.key]
				elems[k.key] = n + 1
				k.key, k.parts, k.typ = indexKey(k.key, n), append(k.parts, elemPart(n)), k.typ.Elem()
			}
			w.record(docEntry{key: k.key, parts: k.parts, line: w.line(start), area: span{start, k.end}, blank: span{start, len(data)}})
			tableKey, tableType = k.parts, k.typ
			if k.typ != nil && (e.Kind == unstable.ArrayTable && !elem || !isTable(k.typ)) {
				got := "a table"
				if e.Kind == unstable.ArrayTable {
					got = "an array of tables"
				}
				w.mismatch(k.key, k.typ, got, span{-1, header})
				tableType = nil
			}
		case unstable.KeyValue:
			w.keyValue(tableKey, tableType, e, nil)
		}
	}
	if err := w.p.Error(); err != nil {
		return nil, syntaxError(&w.p, err)
	}
	// A mismatch in a table header blanks the whole table, whose end is
	// known only now; such problems carry span{-1, header entry}.
	for i := range w.idx.problems {
		if b := w.idx.problems[i].blank; b.start < 0 {
			w.idx.problems[i].blank = w.idx.entries[b.end].blank
		}
	}
	return w.idx, nil
}

// walker carries the state of indexDocument.
type walker struct {
	p    unstable.Parser
	data []byte
	idx  *docIndex
}

func (w *walker) line(offset int) int {
	return w.p.Shape(unstable.Range{Offset: uint32(offset)}).Start.Line
}

func (w *walker) record(e docEntry) {
	w.idx.entries = append(w.idx.entries, e)
	if _, ok := w.idx.lines[e.key]; !ok {
		w.idx.lines[e.key] = e.line
	}
}

func (w *walker) mismatch(key string, want reflect.Type, got string, blank span) {
	p := &Problem{Key: key, Msg: "wrong type: expected " + describeType(want) + ", got " + got}
	w.idx.problems = append(w.idx.problems, indexProblem{problem: p, blank: blank})
}

// walkedKey is the result of following a (dotted) key through the Go types.
type walkedKey struct {
	key      string
	parts    []string
	typ      reflect.Type // nil when the key is unknown (left to the decoder)
	start    int          // offset of the first key part
	end      int          // offset after the last key part
	mismatch bool         // a part names something that is not a table
}

// walkKey follows the key parts of n from the table (prefix, t). When a
// part descends into a value that is not a table, it records a mismatch
// that blanks the span blank.
func (w *walker) walkKey(prefix []string, t reflect.Type, n *unstable.Node, blank span) walkedKey {
	k := walkedKey{key: dottedKey(prefix), parts: slices.Clone(prefix), typ: t, start: -1}
	it := n.Key()
	for it.Next() {
		part := it.Node()
		if k.start < 0 {
			k.start = int(part.Raw.Offset)
		}
		k.end = int(part.Raw.Offset + part.Raw.Length)
		if k.typ != nil && !k.mismatch && !isTable(k.typ) {
			w.mismatch(k.key, k.typ, "a table", blank)
			k.mismatch = true
		}
		k.key = joinKey(k.key, string(part.Data))
		k.parts = append(k.parts, string(part.Data))
		k.typ = childType(k.typ, string(part.Data))
		if _, ok := w.idx.lines[k.key]; !ok {
			// The line of a table made by a dotted key.
			w.idx.lines[k.key] = w.line(int(part.Raw.Offset))
		}
	}
	if k.mismatch {
		k.typ = nil
	}
	return k
}

// keyValue indexes a key-value under the table (prefix, t). outer is the
// span of the top-level key-value when n is inside an inline table.
func (w *walker) keyValue(prefix []string, t reflect.Type, n *unstable.Node, outer *span) {
	whole := w.rawSpan(n)
	if outer != nil {
		whole = *outer
	}
	k := w.walkKey(prefix, t, n, whole)
	w.record(docEntry{key: k.key, parts: k.parts, line: w.line(k.start), area: w.rawSpan(n), blank: whole})
	if k.mismatch {
		return
	}
	w.value(k.parts, k.typ, n.Value(), whole, outer == nil)
}

// value indexes a value of Go type t (nil when unknown) at key, checking
// that its TOML type fits. whole is the span of the enclosing top-level
// key-value; direct is true when n is that key-value's value.
func (w *walker) value(parts []string, t reflect.Type, n *unstable.Node, whole span, direct bool) {
	key := dottedKey(parts)
	switch n.Kind {
	case unstable.Array:
		var elem reflect.Type
		if t != nil {
			if t.Kind() != reflect.Slice {
				w.mismatch(key, t, "an array", whole)
				return
			}
			elem = t.Elem()
		}
		i := 0
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			ek := indexKey(key, i)
			i++
			if c.Kind == unstable.InlineTable && elem != nil && isTable(elem) {
				// An element of an array of tables written inline.
				w.record(docEntry{key: ek, line: w.line(w.firstOffset(c)), area: w.rawSpan(c), blank: whole})
				w.value(append(slices.Clip(parts), elemPart(i-1)), elem, c, whole, false)
				continue
			}
			if c.Kind == unstable.Array || c.Kind == unstable.InlineTable || !direct {
				w.record(docEntry{key: ek, line: w.line(w.firstOffset(c)), area: w.rawSpan(c), blank: whole})
				w.elemValue(ek, elem, c, whole)
				continue
			}
			area := w.rawSpan(c)
			w.record(docEntry{key: ek, line: w.line(area.start), area: area, blank: w.elementBlank(area)})
			w.elemValue(ek, elem, c, w.elementBlank(area))
		}
	case unstable.InlineTable:
		if t != nil && !isTable(t) {
			w.mismatch(key, t, "a table", whole)
			return
		}
		it := n.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				w.keyValue(parts, t, c, &whole)
			}
		}
	default:
		if t != nil {
			w.scalar(key, t, n, whole)
		}
	}
}

// rawSpan is the byte range of a node: a scalar or a key-value; empty for
// arrays and tables.
func (w *walker) rawSpan(n *unstable.Node) span {
	return span{int(n.Raw.Offset), int(n.Raw.Offset + n.Raw.Length)}
}

// firstOffset is the offset of the first byte of n that the parser
// recorded: its own, or its first descendant's.
func (w *walker) firstOffset(n *unstable.Node) int {
	for n != nil && n.Raw.Length == 0 {
		n = n.Child()
	}
	if n == nil {
		return 0
	}
	return int(n.Raw.Offset)
}

// elemValue checks an array element. Elements are only scalars (or arrays
// of them) in Config; anything else is a mismatch or an unknown type.
func (w *walker) elemValue(key string, t reflect.Type, n *unstable.Node, blank span) {
	switch {
	case t == nil:
	case n.Kind == unstable.Array:
		w.mismatch(key, t, "an array", blank)
	case n.Kind == unstable.InlineTable:
		w.mismatch(key, t, "a table", blank)
	default:
		w.scalar(key, t, n, blank)
	}
}

// elementBlank extends the span of an array element over the comma that
// follows it, so that blanking it leaves a valid array.
func (w *walker) elementBlank(s span) span {
	i := s.end
	for i < len(w.data) {
		switch c := w.data[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#':
			for i < len(w.data) && w.data[i] != '\n' {
				i++
			}
		case c == ',':
			return span{s.start, i + 1}
		default:
			return s
		}
	}
	return s
}

// childType is the Go type of key part name inside type t; nil when t is
// nil or has no such field (the strict decoder reports unknown keys).
func childType(t reflect.Type, name string) reflect.Type {
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if ft, ok := fieldByTag(t, name); ok {
			return ft
		}
	case reflect.Map:
		return t.Elem()
	case reflect.Slice:
		if strings.HasPrefix(name, elemMark) {
			return t.Elem()
		}
	}
	return nil
}

// elemMark starts a key part that stands for an element of an array of
// tables; dottedKey writes elemPart(1) as "[1]".
const elemMark = "\x00"

func elemPart(i int) string { return elemMark + "[" + strconv.Itoa(i) + "]" }

func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}

// scalar checks a scalar value of Go type t: its TOML type, and for
// durations and sizes its text, so that the decoder meets no bad value.
func (w *walker) scalar(key string, t reflect.Type, n *unstable.Node, blank span) {
	if !scalarFits(t, n) {
		w.mismatch(key, t, describeKind(n.Kind), blank)
		return
	}
	if n.Kind != unstable.String {
		return
	}
	var err error
	switch t {
	case reflect.TypeFor[Duration]():
		_, err = ParseDuration(string(n.Data))
	case reflect.TypeFor[Size]():
		_, err = ParseSize(string(n.Data))
	}
	if err != nil {
		p := &Problem{Key: key, Msg: err.Error()}
		w.idx.problems = append(w.idx.problems, indexProblem{problem: p, blank: blank})
	}
}

// scalarFits reports whether the scalar TOML value n can be decoded into t.
func scalarFits(t reflect.Type, n *unstable.Node) bool {
	switch t {
	case reflect.TypeFor[Duration]():
		// A bare integer would be taken as nanoseconds; only 0 is allowed.
		if n.Kind == unstable.Integer {
			v, err := strconv.ParseInt(strings.ReplaceAll(string(n.Data), "_", ""), 0, 64)
			return err == nil && v == 0
		}
		return n.Kind == unstable.String
	case reflect.TypeFor[Size]():
		return n.Kind == unstable.String || n.Kind == unstable.Integer
	}
	switch t.Kind() {
	case reflect.String:
		return n.Kind == unstable.String
	case reflect.Int, reflect.Int64:
		return n.Kind == unstable.Integer
	case reflect.Float64:
		return n.Kind == unstable.Float || n.Kind == unstable.Integer
	case reflect.Bool:
		return n.Kind == unstable.Bool
	}
	return false
}

// describeType names what a value of Go type t is written as.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration string such as "90s" or "5d"`
	case reflect.TypeFor[Size]():
		return `a size string such as "25MiB"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		switch t.Elem() {
		case reflect.TypeFor[Duration]():
			return "an array of duration strings"
		case reflect.TypeFor[string]():
			return "an array of strings"
		}
		return "an array"
	case reflect.Map:
		return "a table of strings"
	}
	return "a table"
}

func describeKind(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable, unstable.Table:
		return "a table"
	}
	return "a date or time"
}
