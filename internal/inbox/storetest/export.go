package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func exportCases() []testCase {
	return []testCase{
		{"RoundTrip", testExportRoundTrip},
		{"ImportTwice", testExportImportTwice},
		{"NotFound", testExportNotFound},
		{"LeavesOut", testExportLeavesOut},
		{"SealedTokens", testExportSealedTokens},
		{"ImportInvalid", testExportImportInvalid},
		{"ImportMailboxTaken", testExportImportMailboxTaken},
		{"Erase", testExportErase},
		{"EraseMany", testExportEraseMany},
	}
}

// richTenant is what seedRich stored of one tenant.
type richTenant struct {
	ib        inbox.Inbox
	convs     []inbox.Conversation
	mailbox   inbox.Mailbox
	noteIDs   []string
	messageID string // a later mail's Message-ID of convs[0]
	thread    inbox.ThreadLink
}

// seedRich stores a tenant with a record of every kind: an inbox with
// rules, SLA and custom statuses; a second inbox that was deleted (its
// conversation and template stay); templates; conversations assigned,
// tagged, snoozed and due, with notes (one edited, one deleted) that
// mention members, one mention read; an entry that changed nothing; an
// auto-assignment record; a mailbox with labels, a lease, a watch and a
// sealed token; a thread link; preferences; and presence. A tenant and an
// inbox "support" (with members alice, bob and carol of the domain) that
// exist already, such as the demo's, are used as they are, with the
// inbox's workflow set.
func seedRich(t *testing.T, s inbox.Store, domain string) richTenant {
	t.Helper()
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %s: %v", domain, what, err)
		}
	}
	if _, err := s.GetTenant(ctx, domain); errors.Is(err, inbox.ErrNotFound) {
		must("tenant", s.CreateTenant(ctx, inbox.Tenant{Domain: domain, Name: "Rich " + domain, Admins: []string{"alice@" + domain}, CreatedAt: t0}))
	}
	if _, err := s.GetInbox(ctx, domain, "support"); errors.Is(err, inbox.ErrNotFound) {
		must("inbox", s.CreateInbox(ctx, newInbox(domain, "support", "Support")))
	}
	ib, err := s.UpdateInbox(ctx, domain, "support", func(ib *inbox.Inbox) error {
		ib.Settings.Language = "de"
		ib.Settings.Workflow = inbox.Workflow{
			Rules: []inbox.Rule{
				{ID: "r1", Name: "VIP", Conditions: []inbox.Condition{{Field: inbox.FieldFrom, Value: "vip.example"}}, Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: "vip"}}},
			},
			SLA: inbox.SLAPolicy{FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour},
			Statuses: []inbox.StatusDef{
				{ID: "open", Category: inbox.StatusOpen},
				{ID: "waiting-on-parts", Name: "Waiting on parts", Category: inbox.StatusPending},
				{ID: "pending", Category: inbox.StatusPending},
				{ID: "closed", Category: inbox.StatusClosed},
			},
		}
		return nil
	})
	must("inbox settings", err)
	old := newInbox(domain, "old", "Old")
	must("old inbox", s.CreateInbox(ctx, old))
	for i, tp := range []inbox.Template{
		{TenantID: domain, InboxID: "support", ID: "t1", Name: "Thanks", Body: "Hello {{customer.name}}", Locked: true, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour), UpdatedBy: "alice@" + domain},
		{TenantID: domain, InboxID: "support", ID: "t2", Name: "Bye", Body: "Bye", CreatedAt: t0, UpdatedAt: t0},
		{TenantID: domain, InboxID: "old", ID: "t3", Name: "Old one", Body: "Old", CreatedAt: t0, UpdatedAt: t0},
	} {
		must(fmt.Sprint("template ", i), s.CreateTemplate(ctx, tp))
	}
	rt := richTenant{ib: ib}
	alice, bob, carol := "alice@"+domain, "bob@"+domain, "carol@"+domain
	for i := range 4 {
		c, created := newConversation(t, ib, fmt.Sprintf("rich%d@mail.example", i), t0.Add(time.Duration(i)*time.Minute))
		ids := []string{c.RootMessageID}
		if i == 0 {
			rt.messageID = "later0@mail.example"
			ids = append(ids, rt.messageID)
		}
		must("conversation", s.CreateConversation(ctx, c, ids, created))
		now := t0.Add(time.Hour + time.Duration(i)*time.Minute)
		switch i {
		case 0:
			mustChange(t, s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(ib, alice, bob, now) })
			mustChange(t, s, &c, func(c *inbox.Conversation) (inbox.Activity, error) { return c.AddTag(alice, "billing", now) })
			mustChange(t, s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
				return c.SetStage(ib, alice, "waiting-on-parts", now.Add(time.Second))
			})
		case 1:
			mustChange(t, s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
				return c.Snooze(ib, bob, t0.Add(72*time.Hour), now)
			})
		case 2:
			mustChange(t, s, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
				return c.SetStatus(carol, inbox.StatusClosed, now)
			})
		case 3:
			c.DueAt = t0.Add(5 * time.Hour)
			must("set due", s.SetDue(ctx, domain, c.ID, c.Version, c.DueAt))
		}
		rt.convs = append(rt.convs, mustGetConversation(t, s, domain, c.ID))
	}
	// A conversation of the deleted inbox.
	oc, ocCreated := newConversation(t, old, "old@mail.example", t0)
	must("old conversation", s.CreateConversation(ctx, oc, []string{oc.RootMessageID}, ocCreated))
	must("delete inbox", s.DeleteInbox(ctx, domain, "old"))

	c := rt.convs[0]
	for i, body := range []string{"first note for @bob", "second note", "to be deleted, @carol"} {
		n, err := inbox.NewNote(c, alice, body, t0.Add(2*time.Hour+time.Duration(i)*time.Minute))
		must("note", err)
		if i != 1 {
			n.Mentions, err = ib.Mentions(alice, body)
			must("mentions", err)
		}
		ev := inbox.Activity{TenantID: domain, ConversationID: c.ID, ID: "note-ev-" + n.ID, Actor: alice, Kind: inbox.ActNoted, To: n.ID, At: n.CreatedAt}
		must("add note", s.AddNote(ctx, n, ev))
		rt.noteIDs = append(rt.noteIDs, n.ID)
	}
	_, err = s.UpdateNote(ctx, domain, c.ID, rt.noteIDs[0], func(n *inbox.Note) (inbox.Activity, error) {
		return n.Edit(alice, "first note for @bob, edited", nil, t0.Add(3*time.Hour))
	})
	must("edit note", err)
	must("delete note", s.DeleteNote(ctx, domain, c.ID, rt.noteIDs[2], func(n inbox.Note) (inbox.Activity, error) {
		return n.Delete(alice, t0.Add(4*time.Hour))
	}))
	_, err = s.MarkMentionsRead(ctx, domain, bob, []string{rt.noteIDs[0]}, t0.Add(5*time.Hour))
	must("mark read", err)
	must("log", s.LogActivity(ctx, inbox.Activity{TenantID: domain, ConversationID: c.ID, ID: "flag-1", Actor: bob, Kind: inbox.ActDoubleReply, At: t0.Add(6 * time.Hour)}))
	_, err = s.AutoAssign(ctx, domain, "support", nil, func(r *inbox.AssignRound) error {
		r.State = inbox.AssignState{Last: bob, Waiting: []string{rt.convs[3].ID}}
		return nil
	})
	must("auto-assign state", err)

	mb := inbox.Mailbox{Address: "support@" + domain, TenantID: domain, Kind: inbox.MailboxShared, HistoryID: 1 << 40, NotifiedHistoryID: 1<<40 + 7,
		WatchExpiration: t0.Add(7 * 24 * time.Hour), Labels: map[string]string{"Postfach/Support/Open": "Label_1"},
		Access: inbox.AccessOAuth, SealedToken: []byte{0, 1, 2, 0xff, 'x'}, ConnectedBy: alice,
		LeaseHolder: "instance-1", LeaseUntil: t0.Add(time.Minute), LastSyncAt: t0.Add(time.Hour), CreatedAt: t0,
		Resync:              inbox.Resync{Start: 1<<40 + 3, Since: t0.Add(-30 * 24 * time.Hour), After: "18f00"},
		ConsentStateExpires: tMicro1}
	must("mailbox", s.CreateMailbox(ctx, mb))
	rt.mailbox = mb
	rt.thread = inbox.ThreadLink{TenantID: domain, ConversationID: c.ID, Mailbox: mb.Address, ThreadID: "thread-0"}
	must("thread link", s.PutThreadLink(ctx, rt.thread))
	must("prefs", s.PutUserPrefs(ctx, inbox.UserPrefs{TenantID: domain, Email: bob, Language: "de", UpdatedAt: t0}))
	_, err = s.UpdatePresence(ctx, domain, c.ID, func(p *inbox.Presence) error {
		p.Viewers = []inbox.Viewer{{Email: bob, Seen: t0, Until: t0.Add(inbox.PresenceTTL)}}
		p.UpdatedAt = t0
		return nil
	})
	must("presence", err)
	return rt
}

// mustExport reads a tenant's records.
func mustExport(t *testing.T, s inbox.Store, domain string, opts inbox.ExportOptions) []inbox.Record {
	t.Helper()
	var out []inbox.Record
	if err := s.ExportTenant(t.Context(), domain, opts, func(r inbox.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("ExportTenant(%s): %v", domain, err)
	}
	return out
}

// mustImport writes records in batches, then recounts the inboxes as an
// import does.
func mustImport(t *testing.T, s inbox.Store, recs []inbox.Record, batch int) {
	t.Helper()
	for len(recs) > 0 {
		n := min(batch, len(recs))
		if err := s.ImportRecords(t.Context(), recs[:n]); err != nil {
			t.Fatalf("ImportRecords: %v", err)
		}
		recs = recs[n:]
	}
}

func recountAll(t *testing.T, s inbox.Store, domain string, inboxIDs ...string) {
	t.Helper()
	for _, id := range inboxIDs {
		if _, err := s.ReconcileCounts(t.Context(), domain, id); err != nil {
			t.Fatalf("ReconcileCounts(%s): %v", id, err)
		}
	}
}

// wantKinds fails unless recs hold every kind of record.
func wantKinds(t *testing.T, recs []inbox.Record) {
	t.Helper()
	seen := map[inbox.RecordKind]int{}
	last := -1
	order := map[inbox.RecordKind]int{}
	for i, k := range inbox.RecordKinds {
		order[k] = i
	}
	for _, r := range recs {
		seen[r.Kind]++
		if order[r.Kind] < last {
			t.Errorf("a %s record after a later kind: stream order broken", r.Kind)
		}
		last = order[r.Kind]
	}
	for _, k := range inbox.RecordKinds {
		if seen[k] == 0 {
			t.Errorf("export holds no %s record (kinds: %v)", k, seen)
		}
	}
}

// testExportRoundTrip: what an export holds, imported into an empty store,
// reads back the same through every method, and exports the same.
func testExportRoundTrip(t *testing.T, h Harness) {
	ctx := t.Context()
	src := newStore(t, h)
	rt := seedRich(t, src, domainA)
	seedRich(t, src, domainB)
	recs := mustExport(t, src, domainA, inbox.ExportOptions{})
	wantKinds(t, recs)
	for _, r := range recs {
		if got := r.TenantOf(); got != domainA {
			t.Fatalf("export of %s holds a %s record of %s", domainA, r.Kind, got)
		}
	}

	dst := newStore(t, h)
	mustImport(t, dst, recs, 7)
	recountAll(t, dst, domainA, "support", "old")
	again := mustExport(t, dst, domainA, inbox.ExportOptions{})
	if diff := cmp.Diff(recs, again, cmpOpts); diff != "" {
		t.Errorf("export of the import differs (-first +second):\n%s", diff)
	}

	// Through the contract's reads.
	for _, c := range rt.convs {
		wantConversation(t, dst, c)
		want, err := src.ListActivity(ctx, domainA, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.ListActivity(ctx, domainA, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("ListActivity(%s) after import (-want +got):\n%s", c.ID, diff)
		}
		wantNotes, wantActs, err := src.RecentHistory(ctx, domainA, c.ID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
		if err != nil {
			t.Fatal(err)
		}
		gotNotes, gotActs, err := dst.RecentHistory(ctx, domainA, c.ID, inbox.MaxRecentNotes, inbox.MaxRecentActivity)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantNotes, gotNotes, cmpOpts); diff != "" {
			t.Errorf("RecentHistory notes of %s (-want +got):\n%s", c.ID, diff)
		}
		if diff := cmp.Diff(wantActs, gotActs, cmpOpts); diff != "" {
			t.Errorf("RecentHistory activity of %s (-want +got):\n%s", c.ID, diff)
		}
	}
	for _, mid := range []string{rt.convs[0].RootMessageID, rt.messageID} {
		wantFound(t, dst, domainA, mid, rt.convs[0])
	}
	wantCounts, err := src.InboxCounts(ctx, domainA, "support")
	if err != nil {
		t.Fatal(err)
	}
	gotCounts, err := dst.InboxCounts(ctx, domainA, "support")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCounts, gotCounts, cmpOpts); diff != "" {
		t.Errorf("InboxCounts after import (-want +got):\n%s", diff)
	}
	for _, who := range []string{"bob@" + domainA, "carol@" + domainA} {
		want, err := src.ListMentions(ctx, domainA, who, false, 100)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.ListMentions(ctx, domainA, who, false, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("ListMentions(%s) after import (-want +got):\n%s", who, diff)
		}
	}
	links, err := dst.FindThreadLinks(ctx, rt.thread.Mailbox, rt.thread.ThreadID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]inbox.ThreadLink{rt.thread}, links, cmpOpts); diff != "" {
		t.Errorf("FindThreadLinks after import (-want +got):\n%s", diff)
	}
	// A mailbox's spent consent state comes along, to the microsecond
	// (the comparisons above stop at the millisecond): a restore does not
	// make a used "Connect mailbox" link usable again.
	if m, err := dst.GetMailbox(ctx, rt.mailbox.Address); err != nil || !m.ConsentStateExpires.Equal(rt.mailbox.ConsentStateExpires) {
		t.Errorf("mailbox after import: ConsentStateExpires = %v (%v), want %v", m.ConsentStateExpires, err, rt.mailbox.ConsentStateExpires)
	}
	due, err := dst.ListDue(ctx, t0.Add(100*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantDue, err := src.ListDue(ctx, t0.Add(100*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	var wantA []inbox.Conversation
	for _, c := range wantDue {
		if c.TenantID == domainA {
			wantA = append(wantA, c)
		}
	}
	if diff := cmp.Diff(wantA, due, cmpOpts); diff != "" {
		t.Errorf("ListDue after import (-want +got):\n%s", diff)
	}
	tps, err := dst.ListTemplates(ctx, domainA, "old")
	if err != nil || len(tps) != 1 {
		t.Errorf("templates of the deleted inbox after import: %v, %v; want 1", tps, err)
	}
	if _, err := dst.GetInbox(ctx, domainA, "old"); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("deleted inbox after import: %v, want ErrNotFound", err)
	}
	if _, err := dst.GetUserPrefs(ctx, domainA, "bob@"+domainA); err != nil {
		t.Errorf("GetUserPrefs after import: %v", err)
	}
	// The imported conversation takes new writes as any other.
	c := mustGetConversation(t, dst, domainA, rt.convs[1].ID)
	mustChange(t, dst, &c, func(c *inbox.Conversation) (inbox.Activity, error) {
		return c.SetStatus("carol@"+domainA, inbox.StatusClosed, t0.Add(10*time.Hour))
	})
	wantRecent(t, dst, domainA, c.ID)
}

// testExportImportTwice: importing the same records twice leaves the
// state of one import.
func testExportImportTwice(t *testing.T, h Harness) {
	src := newStore(t, h)
	seedRich(t, src, domainA)
	recs := mustExport(t, src, domainA, inbox.ExportOptions{})
	dst := newStore(t, h)
	mustImport(t, dst, recs, 500)
	recountAll(t, dst, domainA, "support", "old")
	first := mustExport(t, dst, domainA, inbox.ExportOptions{})
	counts, err := dst.InboxCounts(t.Context(), domainA, "support")
	if err != nil {
		t.Fatal(err)
	}
	mustImport(t, dst, recs, 3)
	recountAll(t, dst, domainA, "support", "old")
	if diff := cmp.Diff(first, mustExport(t, dst, domainA, inbox.ExportOptions{}), cmpOpts); diff != "" {
		t.Errorf("second import changed the state (-first +second):\n%s", diff)
	}
	again, err := dst.InboxCounts(t.Context(), domainA, "support")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(counts, again, cmpOpts); diff != "" {
		t.Errorf("second import changed the counts (-first +second):\n%s", diff)
	}
}

func testExportNotFound(t *testing.T, h Harness) {
	s := newStore(t, h)
	err := s.ExportTenant(t.Context(), domainA, inbox.ExportOptions{}, func(inbox.Record) error { return nil })
	wantErr(t, "ExportTenant of an unknown tenant", err, inbox.ErrNotFound)
	stop := errors.New("stop")
	seedRich(t, s, domainA)
	err = s.ExportTenant(t.Context(), domainA, inbox.ExportOptions{}, func(inbox.Record) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("ExportTenant with a failing fn: %v, want fn's error", err)
	}
}

// testExportLeavesOut: the lease, the watch, a resync's progress and the
// token stay behind; the cursor and the labels go along.
func testExportLeavesOut(t *testing.T, h Harness) {
	s := newStore(t, h)
	rt := seedRich(t, s, domainA)
	for _, r := range mustExport(t, s, domainA, inbox.ExportOptions{}) {
		if r.Mailbox == nil {
			continue
		}
		want := rt.mailbox
		want.LeaseHolder, want.LeaseUntil, want.WatchExpiration, want.SealedToken = "", time.Time{}, time.Time{}, nil
		want.Resync = inbox.Resync{}
		if diff := cmp.Diff(want, *r.Mailbox, cmpOpts); diff != "" {
			t.Errorf("exported mailbox (-want +got):\n%s", diff)
		}
		return
	}
	t.Error("no mailbox exported")
}

func testExportSealedTokens(t *testing.T, h Harness) {
	s := newStore(t, h)
	rt := seedRich(t, s, domainA)
	recs := mustExport(t, s, domainA, inbox.ExportOptions{SealedTokens: true})
	dst := newStore(t, h)
	mustImport(t, dst, recs, 100)
	got, err := dst.GetMailbox(t.Context(), rt.mailbox.Address)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.SealedToken) != string(rt.mailbox.SealedToken) {
		t.Errorf("sealed token after import = %x, want %x", got.SealedToken, rt.mailbox.SealedToken)
	}
}

func testExportImportInvalid(t *testing.T, h Harness) {
	s := newStore(t, h)
	tenant := inbox.Tenant{Domain: domainA, CreatedAt: t0}
	other := inbox.Tenant{Domain: domainB, CreatedAt: t0}
	for _, tc := range []struct {
		name string
		recs []inbox.Record
	}{
		{"two tenants", []inbox.Record{{Kind: inbox.RecordTenant, Tenant: &tenant}, {Kind: inbox.RecordTenant, Tenant: &other}}},
		{"kind mismatch", []inbox.Record{{Kind: inbox.RecordInbox, Tenant: &tenant}}},
		{"unknown kind", []inbox.Record{{Kind: "gossip", Tenant: &tenant}}},
		{"invalid tenant", []inbox.Record{{Kind: inbox.RecordTenant, Tenant: &inbox.Tenant{Domain: "NOT A DOMAIN"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "ImportRecords", s.ImportRecords(t.Context(), tc.recs), inbox.ErrInvalid)
		})
	}
	if _, err := s.GetTenant(t.Context(), domainA); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("a refused import wrote the tenant: %v", err)
	}
}

// testExportImportMailboxTaken: a mailbox address is global; an import
// does not take one that another tenant holds.
func testExportImportMailboxTaken(t *testing.T, h Harness) {
	src := newStore(t, h)
	rt := seedRich(t, src, domainA)
	recs := mustExport(t, src, domainA, inbox.ExportOptions{})
	dst := newStore(t, h)
	mustCreateTenant(t, dst, domainB)
	taken := rt.mailbox
	taken.TenantID, taken.Access, taken.SealedToken = domainB, inbox.AccessDelegation, nil
	if err := dst.CreateMailbox(t.Context(), taken); err != nil {
		t.Fatal(err)
	}
	var err error
	for len(recs) > 0 && err == nil {
		n := min(50, len(recs))
		err = dst.ImportRecords(t.Context(), recs[:n])
		recs = recs[n:]
	}
	wantErr(t, "ImportRecords of a mailbox of another tenant", err, inbox.ErrAlreadyExists)
	got, err := dst.GetMailbox(t.Context(), taken.Address)
	if err != nil || got.TenantID != domainB {
		t.Errorf("mailbox after a refused import: %+v, %v; want it still %s's", got, err, domainB)
	}
}

// testExportErase: nothing of the erased tenant is found by any read,
// and the other tenant's export is as before.
func testExportErase(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	rt := seedRich(t, s, domainA)
	seedRich(t, s, domainB)
	before := mustExport(t, s, domainB, inbox.ExportOptions{SealedTokens: true})
	if err := s.EraseTenant(ctx, domainA); err != nil {
		t.Fatalf("EraseTenant: %v", err)
	}
	if _, err := s.GetTenant(ctx, domainA); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetTenant after erase: %v, want ErrNotFound", err)
	}
	err := s.ExportTenant(ctx, domainA, inbox.ExportOptions{}, func(inbox.Record) error { return nil })
	wantErr(t, "ExportTenant after erase", err, inbox.ErrNotFound)
	for _, c := range rt.convs {
		if _, err := s.GetConversation(ctx, domainA, c.ID); !errors.Is(err, inbox.ErrNotFound) {
			t.Errorf("GetConversation(%s) after erase: %v", c.ID, err)
		}
		notes, err := s.ListNotes(ctx, domainA, c.ID, 100)
		wantEmptyOrNotFound(t, "ListNotes after erase", len(notes), err)
		acts, err := s.ListActivity(ctx, domainA, c.ID, 100)
		wantEmptyOrNotFound(t, "ListActivity after erase", len(acts), err)
		p, err := s.GetPresence(ctx, domainA, c.ID)
		if err != nil || len(p.Viewers) > 0 {
			t.Errorf("presence after erase: %+v, %v", p, err)
		}
	}
	if found, err := s.FindConversationsByMessageID(ctx, domainA, rt.messageID); err != nil || len(found) > 0 {
		t.Errorf("FindConversationsByMessageID after erase: %v, %v", found, err)
	}
	if _, err := s.GetMailbox(ctx, rt.mailbox.Address); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetMailbox after erase: %v, want ErrNotFound", err)
	}
	if links, err := s.FindThreadLinks(ctx, rt.thread.Mailbox, rt.thread.ThreadID); err != nil || len(links) > 0 {
		t.Errorf("FindThreadLinks after erase: %v, %v", links, err)
	}
	for _, who := range []string{"bob@" + domainA, "carol@" + domainA} {
		if ms, err := s.ListMentions(ctx, domainA, who, false, 100); err != nil || len(ms) > 0 {
			t.Errorf("ListMentions(%s) after erase: %v, %v", who, ms, err)
		}
	}
	if _, err := s.GetUserPrefs(ctx, domainA, "bob@"+domainA); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetUserPrefs after erase: %v", err)
	}
	if tps, err := s.ListTemplates(ctx, domainA, "old"); err != nil || len(tps) > 0 {
		t.Errorf("templates of the deleted inbox after erase: %v, %v", tps, err)
	}
	counts, err := s.InboxCounts(ctx, domainA, "support")
	if err != nil || !cmp.Equal(counts, inbox.Counts{}, cmpOpts) {
		t.Errorf("InboxCounts after erase: %+v, %v; want zero", counts, err)
	}
	due, err := s.ListDue(ctx, t0.Add(1000*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range due {
		if c.TenantID == domainA {
			t.Errorf("ListDue after erase lists %s", c.ID)
		}
	}
	if diff := cmp.Diff(before, mustExport(t, s, domainB, inbox.ExportOptions{SealedTokens: true}), cmpOpts); diff != "" {
		t.Errorf("erasing %s changed %s (-before +after):\n%s", domainA, domainB, diff)
	}
	if err := s.EraseTenant(ctx, domainA); err != nil {
		t.Errorf("EraseTenant again: %v, want nil", err)
	}
	// The domain is free again.
	mustCreateTenant(t, s, domainA)
}

// testExportEraseMany: more records than one batch of writes holds.
func testExportEraseMany(t *testing.T, h Harness) {
	ctx := t.Context()
	s := newStore(t, h)
	tenant := inbox.Tenant{Domain: domainA, CreatedAt: t0}
	ib := newInbox(domainA, "support", "Support")
	c, created := newConversation(t, ib, "many@mail.example", t0)
	recs := []inbox.Record{
		{Kind: inbox.RecordTenant, Tenant: &tenant},
		{Kind: inbox.RecordInbox, Inbox: &ib},
		{Kind: inbox.RecordConversation, Conversation: &inbox.ConversationRecord{Conversation: c, MessageIDs: []string{c.RootMessageID}}},
		{Kind: inbox.RecordActivity, Activity: &created},
	}
	for i := range 700 {
		ev := inbox.Activity{TenantID: domainA, ConversationID: c.ID, ID: fmt.Sprintf("ev-%04d", i), Kind: inbox.ActTagged, To: "t", At: t0.Add(time.Duration(i) * time.Second)}
		recs = append(recs, inbox.Record{Kind: inbox.RecordActivity, Activity: &ev})
	}
	mustImport(t, s, recs, 1000)
	if got := len(mustExport(t, s, domainA, inbox.ExportOptions{})); got != len(recs) {
		t.Fatalf("export after import holds %d records, want %d", got, len(recs))
	}
	if err := s.EraseTenant(ctx, domainA); err != nil {
		t.Fatalf("EraseTenant: %v", err)
	}
	acts, err := s.ListActivity(ctx, domainA, c.ID, 100)
	wantEmptyOrNotFound(t, "ListActivity after erase", len(acts), err)
	if _, err := s.GetConversation(ctx, domainA, c.ID); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetConversation after erase: %v", err)
	}
}

// SeedRichTenant stores a tenant for domain with a record of every kind
// (see seedRich), for adapter tests that look behind the interface, such
// as a scan of every table or collection after EraseTenant.
func SeedRichTenant(t *testing.T, s inbox.Store, domain string) {
	t.Helper()
	seedRich(t, s, domain)
}
