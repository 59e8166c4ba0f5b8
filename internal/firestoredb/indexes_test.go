package firestoredb

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// indexesFile is manifests/firestore.indexes.json, the file
// `firebase deploy --only firestore:indexes` deploys.
const indexesFile = "../../manifests/firestore.indexes.json"

type indexField struct {
	FieldPath   string `json:"fieldPath"`
	Order       string `json:"order,omitempty"`
	ArrayConfig string `json:"arrayConfig,omitempty"`
}

type compositeIndex struct {
	CollectionGroup string       `json:"collectionGroup"`
	QueryScope      string       `json:"queryScope"`
	Fields          []indexField `json:"fields"`
}

func (ix compositeIndex) String() string {
	var fs []string
	for _, f := range ix.Fields {
		fs = append(fs, f.FieldPath+" "+f.Order+f.ArrayConfig)
	}
	return ix.CollectionGroup + "(" + strings.Join(fs, ", ") + ")"
}

type indexesDoc struct {
	Indexes        []compositeIndex  `json:"indexes"`
	FieldOverrides []json.RawMessage `json:"fieldOverrides"`
}

// loadIndexes reads and checks the format of the indexes file.
func loadIndexes(tb testing.TB) []compositeIndex {
	tb.Helper()
	b, err := os.ReadFile(indexesFile)
	if err != nil {
		tb.Fatalf("read %s: %v", indexesFile, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var doc indexesDoc
	if err := dec.Decode(&doc); err != nil {
		tb.Fatalf("%s: %v", indexesFile, err)
	}
	if doc.FieldOverrides == nil {
		tb.Errorf("%s: no fieldOverrides array (use [] for none)", indexesFile)
	}
	collections := []string{collTenants, collInboxes, collInboxAddresses, collConversations, collNotes, collActivity, collMailboxes, collMentions}
	for i, ix := range doc.Indexes {
		if !slices.Contains(collections, ix.CollectionGroup) {
			tb.Errorf("%s: index %d: collectionGroup %q is none of the adapter's collections %v", indexesFile, i, ix.CollectionGroup, collections)
		}
		if ix.QueryScope != "COLLECTION" {
			tb.Errorf("%s: index %d: queryScope %q, want COLLECTION (the adapter issues no collection-group query)", indexesFile, i, ix.QueryScope)
		}
		if len(ix.Fields) < 2 {
			tb.Errorf("%s: index %d: %d fields; a composite index has at least 2", indexesFile, i, len(ix.Fields))
		}
		for _, f := range ix.Fields {
			ok := (f.Order == "ASCENDING" || f.Order == "DESCENDING") && f.ArrayConfig == "" ||
				f.Order == "" && f.ArrayConfig == "CONTAINS"
			if !ok || f.FieldPath == "" {
				tb.Errorf("%s: index %d field %+v: want a fieldPath and either order ASCENDING|DESCENDING or arrayConfig CONTAINS", indexesFile, i, f)
			}
		}
	}
	return doc.Indexes
}

// needsComposite reports whether Firestore needs a composite index for sh:
// every query that involves more than one field does, under this check.
// (Firestore can serve some equality-only queries by merging single-field
// indexes; the check does not rely on that.)
func needsComposite(sh queryShape) bool {
	fields := map[string]bool{}
	for _, f := range sh.Equality {
		fields[strings.TrimSuffix(f, " CONTAINS")] = true
	}
	for _, f := range sh.Range {
		fields[f] = true
	}
	for _, o := range sh.Orders {
		fields[strings.Fields(o)[0]] = true
	}
	return len(fields) > 1
}

// serves reports whether ix serves sh by Firestore's rules: the equality
// fields first (in any order; array-contains ones as CONTAINS), then the
// order-by fields in order and direction (an inequality field without an
// order-by is ordered ascending). An equality-only query may use an index
// whose first fields are its equality fields.
func serves(ix compositeIndex, sh queryShape) bool {
	if ix.CollectionGroup != sh.Collection || ix.QueryScope != "COLLECTION" {
		return false
	}
	fields := ix.Fields
	if n := len(fields); n > 0 && fields[n-1].FieldPath == "__name__" {
		fields = fields[:n-1]
	}
	k := len(sh.Equality)
	if len(fields) < k {
		return false
	}
	var prefix []string
	for _, f := range fields[:k] {
		if f.ArrayConfig == "CONTAINS" {
			prefix = append(prefix, f.FieldPath+" CONTAINS")
		} else {
			prefix = append(prefix, f.FieldPath)
		}
	}
	slices.Sort(prefix)
	if !slices.Equal(prefix, sh.Equality) {
		return false
	}
	orders := sh.Orders
	if len(orders) == 0 {
		for _, r := range sh.Range {
			orders = append(orders, r+" ASCENDING")
		}
	}
	if len(orders) == 0 {
		return true
	}
	var rest []string
	for _, f := range fields[k:] {
		rest = append(rest, f.FieldPath+" "+f.Order)
	}
	return slices.Equal(rest, orders)
}

// missingIndexes returns the shapes that need a composite index none of
// indexes provides.
func missingIndexes(shapes []queryShape, indexes []compositeIndex) []queryShape {
	var out []queryShape
	for _, sh := range shapes {
		if !needsComposite(sh) {
			continue
		}
		if !slices.ContainsFunc(indexes, func(ix compositeIndex) bool { return serves(ix, sh) }) {
			out = append(out, sh)
		}
	}
	return out
}

func describe(sh queryShape) string {
	return fmt.Sprintf("%s where equality %v, range %v, order by %v", sh.Collection, sh.Equality, sh.Range, sh.Orders)
}

// TestIndexRules pins the matcher: it must report a query whose index is
// missing, or declared with another order or direction.
func TestIndexRules(t *testing.T) {
	list := compositeIndex{CollectionGroup: "conversations", QueryScope: "COLLECTION", Fields: []indexField{
		{FieldPath: "inboxId", Order: "ASCENDING"},
		{FieldPath: "status", Order: "ASCENDING"},
		{FieldPath: "sortKey", Order: "DESCENDING"},
	}}
	for _, tc := range []struct {
		name  string
		shape queryShape
		want  bool
	}{
		{"Exact", queryShape{Collection: "conversations", Equality: []string{"inboxId", "status"}, Orders: []string{"sortKey DESCENDING"}}, true},
		{"WithCursor", queryShape{Collection: "conversations", Equality: []string{"inboxId", "status"}, Range: []string{"sortKey"}, Orders: []string{"sortKey DESCENDING"}}, true},
		{"EqualityPrefix", queryShape{Collection: "conversations", Equality: []string{"inboxId", "status"}}, true},
		{"WrongDirection", queryShape{Collection: "conversations", Equality: []string{"inboxId", "status"}, Orders: []string{"sortKey ASCENDING"}}, false},
		{"ExtraEquality", queryShape{Collection: "conversations", Equality: []string{"assignee", "inboxId", "status"}, Orders: []string{"sortKey DESCENDING"}}, false},
		{"MissingEquality", queryShape{Collection: "conversations", Equality: []string{"inboxId"}, Orders: []string{"sortKey DESCENDING"}}, false},
		{"OtherCollection", queryShape{Collection: "notes", Equality: []string{"inboxId", "status"}, Orders: []string{"sortKey DESCENDING"}}, false},
		{"ArrayNotContains", queryShape{Collection: "conversations", Equality: []string{"inboxId", "status CONTAINS"}}, false},
	} {
		if got := serves(list, tc.shape); got != tc.want {
			t.Errorf("%s: serves(%s, %s) = %t, want %t", tc.name, list, describe(tc.shape), got, tc.want)
		}
	}
	single := queryShape{Collection: "notes", Orders: []string{"sortKey DESCENDING"}}
	if needsComposite(single) {
		t.Errorf("needsComposite(%s) = true, want false (single-field index)", describe(single))
	}
	if got := missingIndexes([]queryShape{{Collection: "conversations", Equality: []string{"customer", "inboxId"}, Orders: []string{"sortKey DESCENDING"}}}, []compositeIndex{list}); len(got) != 1 {
		t.Errorf("missingIndexes of an undeclared shape = %v, want it reported", got)
	}
}

// TestIndexesDeclared drives every query the adapter issues, with every
// filter combination the contract allows, and fails for each query shape
// that needs a composite index manifests/firestore.indexes.json does not
// declare, and for each declared index no query uses.
func TestIndexesDeclared(t *testing.T) {
	indexes := loadIndexes(t)
	s, _ := MustOpenFresh(t)
	exerciseQueries(t, s)
	shapes := s.recordedShapes()
	for _, sh := range missingIndexes(shapes, indexes) {
		t.Errorf("no index in %s serves the query %s", indexesFile, describe(sh))
	}
	for _, ix := range indexes {
		if !slices.ContainsFunc(shapes, func(sh queryShape) bool { return needsComposite(sh) && serves(ix, sh) }) {
			t.Errorf("%s declares %s, which no query of the adapter uses", indexesFile, ix)
		}
	}
	for _, sh := range shapes {
		t.Logf("query %s (composite index needed: %t)", describe(sh), needsComposite(sh))
	}
}

// exerciseQueries calls every Store method that queries.
func exerciseQueries(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	must(s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example"}))
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support",
		Members: []inbox.Member{{Email: "bob@acme.example", Role: inbox.RoleAgent}}}
	must(s.CreateInbox(ctx, ib))
	_, err := s.ListInboxes(ctx, ib.TenantID)
	must(err)
	var c inbox.Conversation
	for i := range 3 {
		var created inbox.Activity
		c, created, err = inbox.NewConversation(ib, fmt.Sprintf("<m%d@x>", i), "s", "a@b.example", "", at, at)
		must(err)
		must(s.CreateConversation(ctx, c, []string{c.RootMessageID}, created))
	}
	must(s.AppendMessage(ctx, c, []string{"reply@x", c.RootMessageID}, nil))
	_, err = s.FindConversationsByMessageID(ctx, ib.TenantID, "reply@x")
	must(err)
	ev, err := c.Assign(ib, "bob@acme.example", "bob@acme.example", at)
	must(err)
	must(s.UpdateConversation(ctx, c, ev))
	n, err := inbox.NewNote(c, "bob@acme.example", "note", at)
	must(err)
	must(s.AddNote(ctx, n, c.NoteActivity(n)))
	_, err = s.ListNotes(ctx, c.TenantID, c.ID, 3)
	must(err)
	_, err = s.ListActivity(ctx, c.TenantID, c.ID, 5)
	must(err)
	_, _, err = s.RecentHistory(ctx, c.TenantID, c.ID, 3, 5)
	must(err)
	// A conversation without the recent copy: RecentHistory lists, and the
	// next write fills the copy by the same queries inside its transaction.
	_, err = s.conversationRef(c.TenantID, c.ID).Update(ctx, []firestore.Update{{Path: fieldRecent, Value: nil}})
	must(err)
	_, _, err = s.RecentHistory(ctx, c.TenantID, c.ID, 3, 5)
	must(err)
	n, err = inbox.NewNote(c, "bob@acme.example", "another note", at.Add(time.Second))
	must(err)
	must(s.AddNote(ctx, n, c.NoteActivity(n)))
	// Notes that name a member: the mention listings, read marks, an edit
	// and a delete (which refills the recent notes by a query).
	n, err = inbox.NewNote(c, "alice@acme.example", "@bob look", at.Add(2*time.Second))
	must(err)
	n.Mentions = []string{"bob@acme.example"}
	must(s.AddNote(ctx, n, c.NoteActivity(n)))
	for _, unread := range []bool{false, true} {
		_, err = s.ListMentions(ctx, c.TenantID, "bob@acme.example", unread, 10)
		must(err)
	}
	_, err = s.MarkMentionsRead(ctx, c.TenantID, "bob@acme.example", []string{n.ID}, at)
	must(err)
	_, err = s.UpdateNote(ctx, c.TenantID, c.ID, n.ID, func(x *inbox.Note) (inbox.Activity, error) {
		return x.Edit(x.Author, "@bob look again", nil, at.Add(3*time.Second))
	})
	must(err)
	must(s.DeleteNote(ctx, c.TenantID, c.ID, n.ID, func(x inbox.Note) (inbox.Activity, error) {
		return x.Delete(x.Author, at.Add(4*time.Second))
	}))
	_, err = s.UpdateTenant(ctx, ib.TenantID, func(t *inbox.Tenant) error { t.Admins = []string{"bob@acme.example"}; return nil })
	must(err)
	_, err = s.UpdateInbox(ctx, ib.TenantID, ib.ID, func(ib *inbox.Inbox) error { ib.Name = "Help"; return nil })
	must(err)

	statusSets := [][]inbox.Status{nil, {inbox.StatusOpen}, {inbox.StatusOpen, inbox.StatusPending}, inbox.Statuses}
	for _, statuses := range statusSets {
		for _, assignee := range []string{"", inbox.Unassigned, "bob@acme.example"} {
			q := inbox.ConversationQuery{TenantID: ib.TenantID, InboxID: ib.ID, Statuses: statuses, Assignee: assignee, Limit: 1}
			_, err := s.CountConversations(ctx, q)
			must(err)
			p, err := s.ListConversations(ctx, q)
			must(err)
			if p.NextCursor != "" {
				q.Cursor = p.NextCursor
				_, err = s.ListConversations(ctx, q)
				must(err)
			}
		}
	}

	mb := inbox.Mailbox{Address: "bob@acme.example", TenantID: ib.TenantID, Kind: inbox.MailboxMember}
	must(s.CreateMailbox(ctx, mb))
	_, err = s.ListMailboxes(ctx, ib.TenantID)
	must(err)
	_, err = s.ListMailboxesWatchExpiringBefore(ctx, at, 10)
	must(err)
	_, err = s.ListMailboxesSyncedBefore(ctx, at, 10)
	must(err)
	_, err = s.UpdateMailbox(ctx, mb.Address, func(m *inbox.Mailbox) error { m.HistoryID = 7; return nil })
	must(err)
	l := inbox.ThreadLink{TenantID: ib.TenantID, ConversationID: c.ID, Mailbox: mb.Address, ThreadID: "t1"}
	must(s.PutThreadLink(ctx, l))
	_, err = s.ListThreadLinks(ctx, l.TenantID, l.ConversationID)
	must(err)
	_, err = s.FindThreadLinks(ctx, l.Mailbox, l.ThreadID)
	must(err)
	must(s.DeleteMailbox(ctx, mb.Address))
	must(s.DeleteInbox(ctx, ib.TenantID, ib.ID))
}

// TestMain runs the tests, then checks the query shapes of every store the
// conformance run opened against the indexes file too, so that a query path
// exerciseQueries misses is still caught.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		shapes.Lock()
		stores := shapes.stores
		shapes.Unlock()
		if len(stores) > 0 {
			var all []queryShape
			for _, s := range stores {
				all = append(all, s.recordedShapes()...)
			}
			if missing := missingIndexesFile(all); len(missing) > 0 {
				for _, sh := range missing {
					fmt.Fprintf(os.Stderr, "FAIL: the conformance run issued the query %s, which no index in %s serves\n", describe(sh), indexesFile)
				}
				code = 1
			}
		}
	}
	os.Exit(code)
}

// missingIndexesFile is missingIndexes against the indexes file, outside a
// test.
func missingIndexesFile(shapes []queryShape) []queryShape {
	b, err := os.ReadFile(indexesFile)
	if err != nil {
		return shapes
	}
	var doc indexesDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return shapes
	}
	return missingIndexes(shapes, doc.Indexes)
}
