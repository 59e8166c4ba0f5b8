package firestoredb

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postfach/postfach/internal/inbox"
)

var _ inbox.Store = (*Store)(nil)

// Collection ids. manifests/firestore.indexes.json names them as
// collectionGroup.
const (
	collTenants        = "tenants"
	collInboxes        = "inboxes"
	collInboxAddresses = "inboxAddresses"
	collConversations  = "conversations"
	collNotes          = "notes"
	collActivity       = "activity"
	collMailboxes      = "mailboxes"
	collNamespaces     = "namespaces"
)

// Store is an inbox.Store on one Firestore database. It is safe for
// concurrent use.
type Store struct {
	client *firestore.Client
	root   *firestore.DocumentRef // nil: the database root

	reads, writes atomic.Int64

	// contention is how long a write that keeps losing to concurrent
	// writes is retried before it is given up as inbox.ErrUnavailable;
	// ingestContention the same for recording mail (see there).
	contention, ingestContention time.Duration

	// midsComplete: every Message-ID of a conversation has its entry in
	// the Message-ID index, so a lookup reads the index (see
	// migrateMessageIDs); midRecheck is how long after its first build the
	// index is built again to make it so.
	midsComplete atomic.Bool
	midRecheck   time.Duration

	mu     sync.Mutex
	shapes map[string]queryShape // every query shape issued, by key
}

// Open connects to the Firestore database of projectID (detected from the
// environment when empty). When FIRESTORE_EMULATOR_HOST is set the client
// talks to that emulator instead, exactly as firestore.NewClient does.
func Open(ctx context.Context, projectID string, opts ...option.ClientOption) (*Store, error) {
	return OpenNamespace(ctx, projectID, "", opts...)
}

// OpenNamespace is Open for a store whose collections all live below the
// document namespaces/{namespace} instead of the database root, so that
// several stores (one per test) can share a database without seeing each
// other. An empty namespace is the database root.
func OpenNamespace(ctx context.Context, projectID, namespace string, opts ...option.ClientOption) (*Store, error) {
	if projectID == "" {
		projectID = firestore.DetectProjectID
	}
	if namespace != "" && docID(namespace) != namespace {
		return nil, fmt.Errorf("open firestore: namespace %q is not a valid document id", namespace)
	}
	client, err := firestore.NewClient(ctx, projectID, opts...)
	if err != nil {
		return nil, fmt.Errorf("open firestore: %w", err)
	}
	s := &Store{client: client, contention: contentionDeadline, ingestContention: ingestContentionDeadline, midRecheck: midRecheckAfter, shapes: map[string]queryShape{}}
	if namespace != "" {
		s.root = client.Collection(collNamespaces).Doc(namespace)
	}
	for _, migrate := range []func(context.Context) error{s.migrateThreadLinks, s.migrateMessageIDs} {
		if err := migrate(ctx); err != nil {
			client.Close()
			return nil, fmt.Errorf("open firestore: %w", err)
		}
	}
	return s, nil
}

// Close closes the client. Calls in flight fail afterwards.
func (s *Store) Close() error {
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("close firestore: %w", err)
	}
	return nil
}

// Stats returns the document reads and writes this store has issued since
// it was opened or ResetStats was called, counted the way Firestore bills
// them: a lookup reads one document per key asked for (found or not), a
// query max(1, results), an aggregation one per 1,000 entries counted (at
// least one); every write of a committed request is one write, and a
// refused create is none.
func (s *Store) Stats() (reads, writes int) {
	return int(s.reads.Load()), int(s.writes.Load())
}

// ResetStats sets the counters of Stats to zero.
func (s *Store) ResetStats() {
	s.reads.Store(0)
	s.writes.Store(0)
}

// # Paths

func (s *Store) collection(id string) *firestore.CollectionRef {
	if s.root != nil {
		return s.root.Collection(id)
	}
	return s.client.Collection(id)
}

func (s *Store) tenantRef(domain string) *firestore.DocumentRef {
	return s.collection(collTenants).Doc(docID(domain))
}

func (s *Store) inboxRef(tenantID, inboxID string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collInboxes).Doc(docID(inboxID))
}

func (s *Store) conversations(tenantID string) *firestore.CollectionRef {
	return s.tenantRef(tenantID).Collection(collConversations)
}

func (s *Store) conversationRef(tenantID, id string) *firestore.DocumentRef {
	return s.conversations(tenantID).Doc(docID(id))
}

func (s *Store) mailboxRef(address string) *firestore.DocumentRef {
	return s.collection(collMailboxes).Doc(docID(address))
}

// reservedID matches document ids Firestore reserves.
var reservedID = regexp.MustCompile(`^__.*__$`)

// docID returns a Firestore document id for a key taken from input: the key
// itself when Firestore accepts it; else "~" and its base64url encoding
// (which no accepted key starts with, so the mapping stays one-to-one); and
// for a key too long for that, "~~" and a 128-bit digest of it ('~' is no
// base64url character).
func docID(key string) string {
	if key != "" && key != "." && key != ".." && len(key) <= 1000 && utf8.ValidString(key) &&
		!strings.ContainsAny(key, "/") && !strings.HasPrefix(key, "~") && !reservedID.MatchString(key) {
		return key
	}
	if len(key) > 1000 {
		return "~~" + hashID(key)
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// hashID returns a fixed-size, id-safe digest of parts.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// timeKey encodes t so that keys sort like times: 16 hex digits of the Unix
// microseconds with the sign bit flipped. The zero time sorts first.
func timeKey(t time.Time) string {
	return fmt.Sprintf("%016x", uint64(t.UnixMicro())^(1<<63))
}

// sortKey is the ordering key of a record: its time, then its id.
func sortKey(t time.Time, id string) string { return timeKey(t) + ":" + id }

// utc returns t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// # Errors

// kindOf maps a gRPC status to the contract's error kind, or nil.
func kindOf(err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return inbox.ErrNotFound
	case codes.AlreadyExists:
		return inbox.ErrAlreadyExists
	case codes.Aborted:
		return inbox.ErrUnavailable
	case codes.Canceled:
		// The caller went away (a client that hung up): no failure of
		// the store, and callers recognize it as such.
		return context.Canceled
	}
	return nil
}

// wrap adds op to err and, for a raw gRPC error, its contract kind.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if k := kindOf(err); k != nil && !errors.Is(err, k) {
		return fmt.Errorf("%s: %w: %w", op, k, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// wrapCommit is wrap for the result of a write: a failed precondition of
// the commit itself means the document changed under the write. Only the
// commit's own, unwrapped error counts: a query inside the transaction
// fails with FailedPrecondition too when its index is missing, which is no
// conflict.
func wrapCommit(op string, err error) error {
	if se, ok := err.(interface{ GRPCStatus() *status.Status }); ok && se.GRPCStatus().Code() == codes.FailedPrecondition {
		return fmt.Errorf("%s: %w: %w", op, inbox.ErrConflict, err)
	}
	return wrap(op, err)
}

// invalid wraps inbox.ErrInvalid with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", inbox.ErrInvalid, fmt.Sprintf(format, args...))
}

// # Reads and writes, counted

// get reads one document, outside or inside tx. A missing document is a
// codes.NotFound error; the read is counted either way.
func (s *Store) get(ctx context.Context, tx *txn, ref *firestore.DocumentRef) (*firestore.DocumentSnapshot, error) {
	snaps, err := s.getAll(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if !snaps[0].Exists() {
		return snaps[0], status.Errorf(codes.NotFound, "%s not found", ref.Path)
	}
	return snaps[0], nil
}

// getAll reads documents in one request; missing ones come back with
// Exists() false.
func (s *Store) getAll(ctx context.Context, tx *txn, refs ...*firestore.DocumentRef) ([]*firestore.DocumentSnapshot, error) {
	s.reads.Add(int64(len(refs)))
	if tx != nil {
		return tx.tx.GetAll(refs)
	}
	return s.client.GetAll(ctx, refs)
}

// txn is one attempt of a transaction, counting the writes it buffers.
type txn struct {
	tx     *firestore.Transaction
	writes int
}

func (t *txn) create(ref *firestore.DocumentRef, data any) error {
	t.writes++
	return t.tx.Create(ref, data)
}

func (t *txn) set(ref *firestore.DocumentRef, data any, opts ...firestore.SetOption) error {
	t.writes++
	return t.tx.Set(ref, data, opts...)
}

func (t *txn) delete(ref *firestore.DocumentRef) error {
	t.writes++
	return t.tx.Delete(ref)
}

// runTx runs f in a read-write transaction, retried on contention (see
// retry); f must therefore only read (through s with its txn) and buffer
// writes. The writes of the committed attempt are counted.
func (s *Store) runTx(ctx context.Context, f func(ctx context.Context, tx *txn) error) error {
	return s.runTxWithin(ctx, s.contention, f)
}

// runTxWithin is runTx retrying for up to within.
func (s *Store) runTxWithin(ctx context.Context, within time.Duration, f func(ctx context.Context, tx *txn) error) error {
	var committed int
	err := s.retry(ctx, within, func(deadline time.Time) error {
		// The client reruns an aborted attempt itself, asking Firestore to
		// keep the first attempt's lock priority (without it, a retry is a
		// new transaction that the others keep winning against, and
		// writers of one document can starve each other). It pauses a
		// jittered 0–1 s, 0–2 s, … between attempts, but stops after
		// firestore.DefaultTransactionMaxAttempts (5) whatever the time
		// left, so its attempts are bounded here by the deadline instead:
		// an attempt that begins after it gives up before reading.
		first := true
		return s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			if !first && time.Now().After(deadline) {
				return errContended
			}
			first = false
			t := &txn{tx: tx}
			if err := f(ctx, t); err != nil {
				return err
			}
			committed = t.writes
			return nil
		}, firestore.MaxAttempts(math.MaxInt32))
	})
	if err == nil {
		s.writes.Add(int64(committed))
	}
	return err
}

// create stores a new document outside a transaction (create-if-absent),
// retried on contention like a transaction.
func (s *Store) create(ctx context.Context, ref *firestore.DocumentRef, data any) error {
	err := s.retry(ctx, s.contention, func(time.Time) error {
		_, err := ref.Create(ctx, data)
		return err
	})
	if err == nil {
		s.writes.Add(1)
	}
	return err
}

// replace reads the document at ref and replaces it by what next makes of
// it, on the condition that nothing wrote it since the read (a precondition
// on its update time, checked by Firestore). A write that finds it changed
// reads again, retried like an aborted transaction. Unlike a transaction it
// holds no lock between the read and the write, so many writers of one
// document (pushes recording a mailbox's history id, say) settle in
// milliseconds instead of waiting out each other's locks. next may run more
// than once; its error ends replace and is returned as is. data is a
// struct with firestore tags; fields of the stored document that it lacks
// are deleted, as a Set would.
func (s *Store) replace(ctx context.Context, ref *firestore.DocumentRef, next func(*firestore.DocumentSnapshot) (any, error)) error {
	return s.retry(ctx, s.contention, func(time.Time) error {
		snap, err := s.get(ctx, nil, ref)
		if err != nil {
			return err
		}
		data, err := next(snap)
		if err != nil {
			return err
		}
		updates := topLevelFields(data)
		written := map[string]bool{}
		for _, u := range updates {
			written[u.FieldPath[0]] = true
		}
		for k := range snap.Data() {
			if !written[k] {
				updates = append(updates, firestore.Update{FieldPath: firestore.FieldPath{k}, Value: firestore.Delete})
			}
		}
		_, err = ref.Update(ctx, updates, firestore.LastUpdateTime(snap.UpdateTime))
		if status.Code(err) == codes.FailedPrecondition {
			return status.Error(codes.Aborted, "written since it was read")
		}
		if err == nil {
			s.writes.Add(1)
		}
		return err
	})
}

// topLevelFields lists the fields of a document struct (or pointer to one)
// by their firestore tags, as updates that set each.
func topLevelFields(data any) []firestore.Update {
	v := reflect.Indirect(reflect.ValueOf(data))
	var out []firestore.Update
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("firestore"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, firestore.Update{FieldPath: firestore.FieldPath{name}, Value: v.Field(i).Interface()})
	}
	return out
}

// # Contention

// contentionDeadline is how long a contended write is retried by default:
// well inside the 30 s an add-on action may take, long enough for a burst
// of writers of one document to drain.
const contentionDeadline = 15 * time.Second

// ingestContentionDeadline is contentionDeadline for CreateConversation and
// AppendMessage, which the background sync calls, not a user waiting for a
// card. One mail seen through several mailboxes at once makes their syncs
// race on the same conversation and on the query of its inbox's
// Message-IDs, whose range locks conflict until one of them commits (the
// others then learn that the mail is recorded). Giving up on a mail only
// delays it to the next sync, so these retry longer.
const ingestContentionDeadline = time.Minute

// Backoff between calls of a contended write: a random pause in [0, d), d
// starting at backoffInitial and doubling up to backoffMax.
const (
	backoffInitial = 20 * time.Millisecond
	backoffMax     = time.Second
)

// errContended ends a transaction whose next attempt would begin after the
// contention deadline. It is no gRPC error, so the client does not rerun
// the transaction.
var errContended = errors.New("still aborted by contention")

// retry calls attempt (given the deadline: within from the first call)
// until it returns anything but codes.Aborted (Firestore aborts a
// transaction that loses a lock to another, and a write that meets too
// much contention; either way nothing was written), pausing a jittered,
// exponentially growing time between calls. When the deadline has passed
// it stops and returns the last error marked inbox.ErrUnavailable. A call
// is never cut short by that deadline, so a commit whose outcome is
// unknown is never reported as unsaved; only the caller's ctx ends one
// early.
func (s *Store) retry(ctx context.Context, within time.Duration, attempt func(deadline time.Time) error) error {
	deadline := time.Now().Add(within)
	pause := backoffInitial
	for {
		err := attempt(deadline)
		if errors.Is(err, errContended) {
			return fmt.Errorf("%w: %w after %s", inbox.ErrUnavailable, err, within)
		}
		if status.Code(err) != codes.Aborted || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w: %w after %s: %w", inbox.ErrUnavailable, errContended, within, err)
		}
		t := time.NewTimer(min(rand.N(pause)+1, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while contended: %w)", ctx.Err(), err)
		case <-t.C:
		}
		pause = min(2*pause, backoffMax)
	}
}

// # Queries

// filter is one condition of a query.
type filter struct {
	path  string
	op    string // ==, in, <, array-contains, array-contains-any
	value any
}

// order is one sort of a query.
type order struct {
	path string
	dir  firestore.Direction
}

// querySpec is a query as the adapter issues it. Every query goes through
// Store.query (or Store.count), which records its shape for the index check.
type querySpec struct {
	coll    *firestore.CollectionRef
	filters []filter
	orders  []order
	limit   int // 0: none
}

// queryShape is what decides the index a query needs.
type queryShape struct {
	Collection string   // collection id (collectionGroup in the indexes file)
	Equality   []string // fields of ==, in (sorted); array-contains fields carry the suffix " CONTAINS"
	Range      []string // fields of <, <=, >, >=, !=
	Orders     []string // "field ASCENDING|DESCENDING", in order
}

func (q querySpec) shape() queryShape {
	sh := queryShape{Collection: q.coll.ID}
	for _, f := range q.filters {
		switch f.op {
		case "==", "in":
			sh.Equality = append(sh.Equality, f.path)
		case "array-contains", "array-contains-any":
			sh.Equality = append(sh.Equality, f.path+" CONTAINS")
		default:
			sh.Range = append(sh.Range, f.path)
		}
	}
	slices.Sort(sh.Equality)
	for _, o := range q.orders {
		dir := "ASCENDING"
		if o.dir == firestore.Desc {
			dir = "DESCENDING"
		}
		sh.Orders = append(sh.Orders, o.path+" "+dir)
	}
	return sh
}

func (sh queryShape) key() string {
	return fmt.Sprintf("%s|%v|%v|%v", sh.Collection, sh.Equality, sh.Range, sh.Orders)
}

// build turns q into a Firestore query and records its shape.
func (s *Store) build(q querySpec) firestore.Query {
	sh := q.shape()
	s.mu.Lock()
	s.shapes[sh.key()] = sh
	s.mu.Unlock()

	fq := q.coll.Query
	for _, f := range q.filters {
		fq = fq.Where(f.path, f.op, f.value)
	}
	for _, o := range q.orders {
		fq = fq.OrderBy(o.path, o.dir)
	}
	if q.limit > 0 {
		fq = fq.Limit(q.limit)
	}
	return fq
}

// query runs q, outside or inside tx, and returns every matching document.
func (s *Store) query(ctx context.Context, tx *txn, q querySpec) ([]*firestore.DocumentSnapshot, error) {
	fq := s.build(q)
	var it *firestore.DocumentIterator
	if tx != nil {
		it = tx.tx.Documents(fq)
	} else {
		it = fq.Documents(ctx)
	}
	defer it.Stop()
	var out []*firestore.DocumentSnapshot
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			s.reads.Add(int64(max(1, len(out))))
			return nil, err
		}
		out = append(out, snap)
	}
	s.reads.Add(int64(max(1, len(out))))
	return out, nil
}

// count runs q as a count aggregation.
func (s *Store) count(ctx context.Context, q querySpec) (int, error) {
	fq := s.build(q)
	res, err := fq.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		s.reads.Add(1)
		return 0, err
	}
	return s.countResult(res)
}

// countResult decodes the result of a count aggregation and counts its
// cost: one read per 1,000 entries counted, at least one.
func (s *Store) countResult(res firestore.AggregationResult) (int, error) {
	var got struct {
		N int64 `firestore:"n"`
	}
	if err := res.DataTo(&got); err != nil {
		s.reads.Add(1)
		return 0, fmt.Errorf("decode count: %w", err)
	}
	n := got.N
	s.reads.Add(max(1, (n+999)/1000))
	return int(n), nil
}

// recordedShapes returns every query shape issued so far.
func (s *Store) recordedShapes() []queryShape {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]queryShape, 0, len(s.shapes))
	for _, sh := range s.shapes {
		out = append(out, sh)
	}
	slices.SortFunc(out, func(a, b queryShape) int { return strings.Compare(a.key(), b.key()) })
	return out
}

// defaultLimit is the page size when a caller asks for none.
const defaultLimit = 20
