package archive

import (
	"context"
	"strings"
	"testing"
)

// TestHotQueriesUseIndexes guards the queries run for every archived post
// against plans that scan a whole list (as the planner chose for some of
// them before they named their index).
func TestHotQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	for _, q := range []string{
		`SELECT thread_id FROM archive_messages INDEXED BY archive_messages_mid WHERE list = 'a' AND message_id IN ('x', 'y')`,
		`SELECT m.thread_id FROM archive_refs r INDEXED BY archive_refs_ref JOIN archive_messages m ON m.id = r.msg WHERE r.list = 'a' AND r.ref IN ('x','y')`,
		`SELECT thread_id FROM archive_messages INDEXED BY archive_messages_subject WHERE list = 'a' AND base_subject = 'x' AND date BETWEEN 1 AND 2`,
		`SELECT id FROM archive_messages WHERE list = 'a' AND thread_id IN (1, 2)`,
		`SELECT id FROM archive_messages WHERE list = 'a' AND message_id = 'x' AND (message_id <> '' OR content_hash = 'y')`,
	} {
		rows, err := a.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(detail, "SCAN") || strings.HasSuffix(detail, "(list=?)") {
				t.Errorf("%s\n  plan: %s", q, detail)
			}
		}
		rows.Close()
	}
}
