package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/postfach/postfach/internal/inbox"
)

// Buckets of inbox_counts (see migrations/0005_inbox_counts.sql).
const (
	bucketUnassigned     = "unassigned"
	bucketAssignedPrefix = "assigned:"
)

// countBuckets lists the non-zero buckets of c as bucket → n.
func countBuckets(c inbox.Counts) map[string]int {
	out := map[string]int{}
	for b, n := range map[string]int{
		string(inbox.StatusOpen): c.Open, string(inbox.StatusPending): c.Pending,
		string(inbox.StatusClosed): c.Closed, bucketUnassigned: c.Unassigned,
	} {
		if n != 0 {
			out[b] = n
		}
	}
	for owner, n := range c.Assigned {
		if n != 0 {
			out[bucketAssignedPrefix+owner] = n
		}
	}
	return out
}

// addToCounts adds one bucket's n to c.
func addToCounts(c *inbox.Counts, bucket string, n int) {
	switch {
	case bucket == string(inbox.StatusOpen):
		c.Open += n
	case bucket == string(inbox.StatusPending):
		c.Pending += n
	case bucket == string(inbox.StatusClosed):
		c.Closed += n
	case bucket == bucketUnassigned:
		c.Unassigned += n
	case strings.HasPrefix(bucket, bucketAssignedPrefix):
		*c = c.Add(inbox.Counts{Assigned: map[string]int{strings.TrimPrefix(bucket, bucketAssignedPrefix): n}})
	}
}

// addCounts adds delta to an inbox's kept counts, inside the write
// transaction that makes the change.
func addCounts(ctx context.Context, tx *stx, tenantID, inboxID string, delta inbox.Counts) error {
	for bucket, n := range countBuckets(delta) {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO inbox_counts (tenant_id, inbox_id, bucket, n) VALUES (?, ?, ?, ?)
			 ON CONFLICT (tenant_id, inbox_id, bucket) DO UPDATE SET n = n + excluded.n`,
			tenantID, inboxID, bucket, n); err != nil {
			return fmt.Errorf("count %s: %w", bucket, err)
		}
	}
	return nil
}

// queryer is an stx or a stmtCache.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const inboxCountsQuery = `SELECT bucket, n FROM inbox_counts WHERE tenant_id = ? AND inbox_id = ?`

// readCounts reads an inbox's kept counts: one row per bucket, as many as
// the inbox has owners, whatever its number of conversations.
func readCounts(ctx context.Context, q queryer, tenantID, inboxID string) (inbox.Counts, error) {
	rows, err := q.QueryContext(ctx, inboxCountsQuery, tenantID, inboxID)
	if err != nil {
		return inbox.Counts{}, err
	}
	defer rows.Close()
	var c inbox.Counts
	for rows.Next() {
		var bucket string
		var n int
		if err := rows.Scan(&bucket, &n); err != nil {
			return inbox.Counts{}, err
		}
		addToCounts(&c, bucket, n)
	}
	return c, rows.Err()
}

// InboxCounts implements inbox.Store: it reads the rows of inbox_counts.
func (s *Store) InboxCounts(ctx context.Context, tenantID, inboxID string) (inbox.Counts, error) {
	if tenantID == "" || inboxID == "" {
		return inbox.Counts{}, fmt.Errorf("inbox counts: %w", invalid("counts need a tenant and an inbox"))
	}
	c, err := readCounts(ctx, s.reads, tenantID, inboxID)
	if err != nil {
		return inbox.Counts{}, fmt.Errorf("inbox counts of %s/%s: %w", tenantID, inboxID, err)
	}
	return c, nil
}

// recount counts an inbox's conversations by status and assignee, with
// the indexes of CountConversations.
func recount(ctx context.Context, tx *stx, tenantID, inboxID string) (inbox.Counts, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT status, assignee, count(*) FROM conversations
		 WHERE tenant_id = ? AND inbox_id = ? GROUP BY status, assignee`, tenantID, inboxID)
	if err != nil {
		return inbox.Counts{}, err
	}
	defer rows.Close()
	var c inbox.Counts
	for rows.Next() {
		var st, assignee string
		var n int
		if err := rows.Scan(&st, &assignee, &n); err != nil {
			return inbox.Counts{}, err
		}
		c = c.Add(times(inbox.CountsOf(inbox.Status(st), assignee), n))
	}
	return c, rows.Err()
}

// times returns c with every count multiplied by n.
func times(c inbox.Counts, n int) inbox.Counts {
	out := inbox.Counts{Open: c.Open * n, Pending: c.Pending * n, Closed: c.Closed * n, Unassigned: c.Unassigned * n}
	for owner, k := range c.Assigned {
		out = out.Add(inbox.Counts{Assigned: map[string]int{owner: k * n}})
	}
	return out
}

// ReconcileCounts implements inbox.Store: one write transaction (which
// holds the database's write lock, so no change interleaves) reads the
// kept counts, recounts the conversations and, on drift, adds the
// difference.
func (s *Store) ReconcileCounts(ctx context.Context, tenantID, inboxID string) (inbox.CountsRepair, error) {
	if tenantID == "" || inboxID == "" {
		return inbox.CountsRepair{}, fmt.Errorf("reconcile counts: %w", invalid("counts need a tenant and an inbox"))
	}
	var r inbox.CountsRepair
	err := inTx(ctx, s.writes, func(tx *stx) error {
		var err error
		if r.Kept, err = readCounts(ctx, tx, tenantID, inboxID); err != nil {
			return fmt.Errorf("read counts: %w", err)
		}
		if r.Counted, err = recount(ctx, tx, tenantID, inboxID); err != nil {
			return fmt.Errorf("recount: %w", err)
		}
		if !r.Drifted() {
			return nil
		}
		return addCounts(ctx, tx, tenantID, inboxID, r.Counted.Sub(r.Kept))
	})
	if err != nil {
		return inbox.CountsRepair{}, fmt.Errorf("reconcile counts of %s/%s: %w", tenantID, inboxID, err)
	}
	return r, nil
}
