package lists

import "strings"

// Prefix search of members.
//
// A prefix p selects the keys k with p <= k < succ(p), succ(p) being the
// smallest string greater than every string that starts with p (p with its
// last byte that is not 0xFF incremented and the rest cut; no upper bound
// when there is none). Keys compare bytewise (SQLite's BINARY collation),
// so the range is exactly the strings with the prefix, and it is a range
// of an index:
//
//	address       members UNIQUE (list_id, addr_key, role), addr_key lowercased
//	display name  members_name (list_id, lower(display_name), addr_key)
//
// The address range is walked in (addr_key, role) order and stops after one
// page; the display-name range is sorted by address, which costs in
// proportion to the names that match. The two are merged with UNION (a row
// matching both counts once).

// prefixSuccessor returns the smallest string greater than every string
// that starts with p, and false when there is none (p empty or all 0xFF).
func prefixSuccessor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// asciiLower lowercases A-Z only, like SQLite's lower() without ICU.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// rangeCond returns the condition col in [p, succ(p)) and its arguments.
func rangeCond(col, p string) (string, []any) {
	if hi, ok := prefixSuccessor(p); ok {
		return col + " >= ? AND " + col + " < ?", []any{p, hi}
	}
	return col + " >= ?", []any{p}
}

// prefixQuery builds the page query for prefix under the conditions where
// (with their arguments args): the address range and the display-name
// range, each in (addr_key, role) order and limited, merged.
func prefixQuery(where []string, args []any, prefix string, limit int) (string, []any) {
	part := func(col, p, from string) (string, []any) {
		cond, cargs := rangeCond(col, p)
		w := append(append([]string(nil), where...), cond)
		a := append(append([]any(nil), args...), cargs...)
		a = append(a, limit)
		return `SELECT * FROM (SELECT ` + memberCols + `, addr_key FROM ` + from + ` WHERE ` + strings.Join(w, " AND ") +
			` ORDER BY addr_key, role LIMIT ?)`, a
	}
	q1, a1 := part("addr_key", strings.ToLower(prefix), "members")
	// Without statistics the planner may prefer walking the address index
	// from the cursor to the end of the list over the name range.
	q2, a2 := part("lower(display_name)", asciiLower(prefix), "members INDEXED BY members_name")
	q := `SELECT ` + memberCols + ` FROM (` + q1 + ` UNION ` + q2 + `) ORDER BY addr_key, role LIMIT ?`
	out := append(a1, a2...)
	return q, append(out, limit)
}
