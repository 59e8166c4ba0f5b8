package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts bounds a stmtCache. The store's query texts are a fixed
// set plus the shapes of the conversation filters (which statuses, which
// assignee, whether a cursor), far fewer than this; the bound only guards
// against a future query built from values.
const maxCachedStmts = 128

// stmtCache prepares each distinct query text once for a pool and reuses
// the *sql.Stmt: SQLite then parses and plans the SQL once per connection
// instead of on every call (database/sql prepares a Stmt again on each
// connection of the pool it runs on, and modernc.org/sqlite keeps the
// compiled statement with it). A *sql.Stmt is safe for concurrent use, and
// so is the cache. Queries it cannot prepare (the bound is reached, or the
// prepare fails) run unprepared, which also reports any error the usual
// way.
type stmtCache struct {
	db *sql.DB

	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool // met in a transaction before being prepared
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt), wanted: make(map[string]bool)}
}

// lookup returns the prepared statement for query, or nil if it is not
// prepared yet (then it is remembered for prepareWanted). It never
// prepares: a transaction holds its pool's connection, and preparing
// through the pool meanwhile could wait for that very connection (the
// writer's pool has one).
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	known := c.wanted[query] || c.closed || len(c.stmts)+len(c.wanted) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || known {
		return st
	}
	c.mu.Lock()
	if len(c.stmts)+len(c.wanted) < maxCachedStmts {
		c.wanted[query] = true
	}
	c.mu.Unlock()
	return nil
}

// prepareWanted prepares the statements lookup met unprepared; called
// when no transaction of the pool's caller holds a connection.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.wanted))
	for q := range c.wanted {
		queries = append(queries, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range queries {
		c.stmt(ctx, q)
	}
}

// stx is a transaction whose statements run prepared: each query text's
// statement from the cache of the transaction's pool, bound to the
// transaction by Tx.StmtContext, which reuses what is prepared on the
// transaction's connection already. A text not prepared yet runs
// unprepared once and is prepared after the transaction (see lookup). With
// a nil cache (the migrations) every statement runs unprepared.
type stx struct {
	tx    *sql.Tx
	cache *stmtCache
}

func (t *stx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	if st := t.cache.lookup(query); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return nil
}

// ExecContext is sql.Tx.ExecContext, prepared.
func (t *stx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext is sql.Tx.QueryContext, prepared.
func (t *stx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.Tx.QueryRowContext, prepared.
func (t *stx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// stmt returns the prepared statement for query, preparing it on first
// use, or nil if query is to run unprepared.
func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	full := c.closed || len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	// Prepare without the lock: it waits for a connection of the pool.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok || c.closed || len(c.stmts) >= maxCachedStmts {
		st.Close() // lost a race, or closed meanwhile
		return prev
	}
	c.stmts[query] = st
	return st
}

// QueryContext is sql.DB.QueryContext through the cache.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.DB.QueryRowContext through the cache.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// ExecContext is sql.DB.ExecContext through the cache.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

// len returns the number of prepared statements.
func (c *stmtCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.stmts)
}

// Close closes every prepared statement; later calls run unprepared (and
// fail once the pool is closed).
func (c *stmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	c.closed = true
	return errors.Join(errs...)
}
