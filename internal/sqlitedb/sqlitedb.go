// Package sqlitedb implements inbox.Store on an embedded SQLite database
// (modernc.org/sqlite, no cgo); it serves `postfach dev` and small
// single-instance installs. It passes the conformance suite in
// internal/inbox/storetest, which every inbox.Store adapter runs.
//
// # Connections
//
// A Store keeps two pools over one database file in WAL mode: a single
// write connection whose transactions start with BEGIN IMMEDIATE (writers
// queue in Go instead of spinning on SQLITE_BUSY, and a read-check-write
// transaction can never fail to upgrade its lock), and a few read-only
// connections that readers use concurrently with the writer. Every
// connection has busy_timeout, foreign keys and synchronous=NORMAL set.
// Another Store (or process) on the same file is safe: its writers wait on
// the busy timeout.
//
// The path ":memory:" opens a private in-memory database on one connection,
// for tests; it is gone when the Store is closed.
//
// # Schema
//
// The schema lives in migrations/NNNN_name.sql, embedded in the binary and
// applied in order by Open, each in its own transaction together with the
// bump of PRAGMA user_version (the schema version). Open refuses a database
// whose schema is newer than the binary.
//
// Every table below tenants has tenant_id as the first column of its primary
// key, so no statement can reach another tenant's rows by id alone. What
// Gmail names is reached without a tenant: mailboxes are keyed by address
// (each row carries its tenant), and thread_links have a second index by
// mailbox and thread id. The Message-ID
// index (message_ids) is keyed by tenant, Message-ID and inbox, so one
// search serves both the lookup across a tenant's inboxes and the one
// within an inbox.
//
// Times are INTEGER Unix milliseconds, UTC: the store keeps times to the
// millisecond and returns them in UTC. The zero time.Time is stored as its
// own milliseconds (year 1), so "none yet" (a never-watched or never-synced
// mailbox, no first response) sorts before every real time. Gmail history
// ids are uint64, stored bit for bit in SQLite's signed 64-bit INTEGER:
// values from 2^63 on read negative in SQL, which nothing compares. Tenant
// admins, inbox members, conversation tags and a mailbox's labels are JSON
// in their parent row: they are always read and written whole with it, and
// no query filters on them yet (a later migration can add a child table
// when one does). A mailbox's sealed token is a BLOB, kept bit for bit.
//
// Conversations have no foreign key to inboxes (since 0003): DeleteInbox
// removes the inbox row, and with it the claim on its address, while its
// conversations, their notes, activity, Message-IDs and thread links stay.
//
// # Choices the contract leaves open
//
//   - Message-IDs are normalised with inbox.NormalizeMessageID, on
//     CreateConversation and AppendMessage (where text that is no Message-ID
//     is ErrInvalid) and on FindConversationsByMessageID (where it finds
//     nothing), so "<id@host>" finds "id@host".
//   - AppendMessage, like CreateConversation, leaves a Message-ID after the
//     first that is already indexed to another conversation of the inbox
//     with that conversation. It checks, in this order: the conversation
//     exists (ErrNotFound), in c's inbox (ErrInvalid), messageIDs[0] is not
//     indexed in the inbox (ErrAlreadyExists, even when the version is stale
//     too), the stored version (ErrConflict).
//   - PutThreadLink does not check that the conversation or the mailbox
//     exists.
//   - Mailbox addresses are matched exactly, not normalised.
//     ListMailboxesWatchExpiringBefore and ListMailboxesSyncedBefore read 20
//     mailboxes when limit ≤ 0 and order equal times by address.
//   - UpdateMailbox, UpdateTenant and UpdateInbox run fn exactly once,
//     inside the write transaction, and return fn's error itself,
//     unwrapped. UpdateInbox writes every field but the keys and the
//     address, CreatedAt included.
//   - A deleted inbox's id is free: CreateInbox may take it again, and the
//     new inbox then lists and counts the old inbox's conversations (they
//     carry its id) and its Message-IDs find them.
//   - RecentHistory reads the lists of ListNotes and ListActivity, both in
//     one read transaction (one snapshot); a limit ≤ 0 reads nothing.
//   - ListNotes and ListActivity read 20 entries when limit ≤ 0.
//   - Listing the notes or activity of an unknown conversation returns
//     nothing, not ErrNotFound.
//   - CreateConversation requires Version 1; the created activity, like the
//     activity of AppendMessage, UpdateConversation and AddNote, must name
//     the same tenant and conversation as the record (ErrInvalid otherwise).
package sqlitedb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/postfach/postfach/internal/inbox"
)

var _ inbox.Store = (*Store)(nil)

// busyTimeout is how long a statement waits for another connection's lock
// (another Store or process on the same file) before it fails.
const busyTimeout = 5 * time.Second

// Store is an inbox.Store on one SQLite database. It is safe for concurrent
// use.
type Store struct {
	write *sql.DB // one connection; transactions BEGIN IMMEDIATE
	read  *sql.DB // read-only connections; the same as write for ":memory:"
	// reads and writes run single statements outside transactions on read
	// and write, prepared once (see stmtCache).
	reads, writes *stmtCache
}

// Open opens (creating if needed) the database at path and migrates its
// schema to the newest version. Use ":memory:" for a private in-memory
// database.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	s, err := open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string) (_ *Store, err error) {
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	common.Add("_pragma", "foreign_keys(1)")
	common.Add("_pragma", "synchronous(NORMAL)")

	if path == ":memory:" {
		// Every connection to ":memory:" is a database of its own: keep
		// exactly one, forever.
		q := cloneValues(common)
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file::memory:?"+q.Encode())
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s := &Store{write: db, read: db}
		if err := s.init(ctx, false); err != nil {
			db.Close()
			return nil, err
		}
		s.reads, s.writes = newStmtCache(db), newStmtCache(db)
		return s, nil
	}

	uri := "file:" + (&url.URL{Path: path}).EscapedPath()
	wq := cloneValues(common)
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", uri+"?"+wq.Encode())
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	s := &Store{write: write}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// The writer creates the file, switches it to WAL and migrates it
	// before any reader connects.
	if err := s.init(ctx, true); err != nil {
		return nil, err
	}

	rq := cloneValues(common)
	rq.Set("_query_only", "1")
	read, err := sql.Open("sqlite", uri+"?"+rq.Encode())
	if err != nil {
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	s.read = read
	if err := read.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("connect reader: %w", err)
	}
	s.reads, s.writes = newStmtCache(read), newStmtCache(write)
	return s, nil
}

// init checks the write connection's settings and migrates the schema.
func (s *Store) init(ctx context.Context, wantWAL bool) error {
	if wantWAL {
		var mode string
		if err := s.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return fmt.Errorf("read journal mode: %w", err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal mode is %q, want wal (is the file on a network file system?)", mode)
		}
	}
	return migrate(ctx, s.write)
}

// Close closes the database. Pending reads and writes fail afterwards.
func (s *Store) Close() error {
	var errs []error
	for _, c := range []*stmtCache{s.reads, s.writes} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		// Let SQLite refresh the statistics the planner uses; cheap when
		// nothing changed. See https://sqlite.org/lang_analyze.html#pragopt.
		_, _ = s.write.Exec("PRAGMA optimize")
		errs = append(errs, s.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// # Migrations

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one schema step: migrations/NNNN_name.sql brings the schema
// to version NNNN.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. Their numbers must
// run 1, 2, 3… without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, name := range names { // fs.Glob sorts
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want name %04d_<what>.sql", base, i+1)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	return ms, nil
}

// migrate applies the migrations newer than the database's user_version,
// each in a transaction that also records its version.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := runTx(ctx, db, nil, nil, func(tx *stx) error {
			// Read the version inside the (immediate) transaction: another
			// process may be migrating the same file.
			var current int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if current > len(ms) {
				return fmt.Errorf("schema version %d is newer than this binary knows (%d)", current, len(ms))
			}
			if current >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			// PRAGMA takes no parameters; the version is our own integer.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// schemaVersion returns the schema version of the open database.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// # Helpers

// inTx runs fn in a write transaction on c's pool, its statements
// prepared through c (see stx; nil runs them unprepared), and commits it
// if fn returns nil. A database that stayed locked by another connection
// past the busy timeout (SQLITE_BUSY, SQLITE_LOCKED) is
// inbox.ErrUnavailable: the transaction is rolled back, nothing was
// written.
func inTx(ctx context.Context, c *stmtCache, fn func(tx *stx) error) error {
	return runTx(ctx, c.db, c, nil, fn)
}

// runTx is inTx on db with cache c (nil: unprepared) and options opts.
func runTx(ctx context.Context, db *sql.DB, c *stmtCache, opts *sql.TxOptions, fn func(tx *stx) error) (err error) {
	defer func() {
		if isBusy(err) && !errors.Is(err, inbox.ErrUnavailable) {
			err = fmt.Errorf("%w: database busy: %w", inbox.ErrUnavailable, err)
		}
	}()
	if c != nil {
		// After the transaction, which holds a connection of the pool
		// until then: prepare what it met unprepared.
		defer c.prepareWanted(context.WithoutCancel(ctx))
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := fn(&stx{tx: tx, cache: c}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isKeyTaken reports whether err is a primary key or unique violation.
func isKeyTaken(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}

// isBusy reports whether err is SQLite's "database is locked" (another
// connection held the lock past the busy timeout) or a locked table.
func isBusy(err error) bool {
	switch sqliteCode(err) & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// isForeignKey reports whether err is a foreign key violation.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// invalid wraps inbox.ErrInvalid with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", inbox.ErrInvalid, fmt.Sprintf(format, args...))
}

// millis stores a time as Unix milliseconds; the zero time round-trips.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis reads a time stored by millis, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// defaultLimit is the page size when a caller asks for none.
const defaultLimit = 20

// fnError carries the error of an Update*'s fn through the transaction, so
// that it is returned as is, unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// readModifyWrite is the one implementation of the Update* methods: read
// the record, apply fn to a copy, check the result against the stored one
// and write it, all in one write transaction. The transaction holds the
// database's write lock, so fn runs exactly once and no other write
// interleaves. fn's error comes back as is; sql.ErrNoRows from read is
// inbox.ErrNotFound.
func readModifyWrite[T any](ctx context.Context, s *Store,
	read func(*stx) (T, error), fn func(*T) error, check func(next, stored T) error, write func(*stx, T) error,
) (T, error) {
	var out T
	err := inTx(ctx, s.writes, func(tx *stx) error {
		stored, err := read(tx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return inbox.ErrNotFound
		case err != nil:
			return fmt.Errorf("read: %w", err)
		}
		next := stored // read decodes afresh: fn may change next's slices freely
		if err := fn(&next); err != nil {
			return fnError{err}
		}
		if err := check(next, stored); err != nil {
			return err
		}
		if err := write(tx, next); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		out = next
		return nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		var zero T
		return zero, fe.err
	}
	return out, err
}
