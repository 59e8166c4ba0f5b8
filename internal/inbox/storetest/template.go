package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func templateCases() []testCase {
	return []testCase{
		{"CreateGet", testTemplateCreateGet},
		{"List", testTemplateList},
		{"Scoped", testTemplateScoped},
		{"UnknownInbox", testTemplateUnknownInbox},
		{"Invalid", testTemplateInvalid},
		{"Update", testTemplateUpdate},
		{"UpdateConcurrent", testTemplateUpdateConcurrent},
		{"Delete", testTemplateDelete},
		{"Reopen", testTemplateReopen},
	}
}

// newTemplate builds (but does not store) a template of an inbox.
func newTemplate(tenantID, inboxID, id, name string) inbox.Template {
	return inbox.Template{
		TenantID: tenantID, InboxID: inboxID, ID: id, Name: name,
		Body:      "Hi {{customer.name}},\n\nthanks for writing to {{inbox.name}}.\n{{agent.name}}",
		CreatedAt: t0, UpdatedAt: t0, UpdatedBy: alice,
	}
}

func mustCreateTemplate(t *testing.T, s inbox.Store, tp inbox.Template) inbox.Template {
	t.Helper()
	if err := s.CreateTemplate(t.Context(), tp); err != nil {
		t.Fatalf("CreateTemplate(%s/%s/%s): %v", tp.TenantID, tp.InboxID, tp.ID, err)
	}
	return tp
}

// wantTemplate fails unless s holds want under its keys.
func wantTemplate(t *testing.T, s inbox.Store, want inbox.Template) {
	t.Helper()
	got, err := s.GetTemplate(t.Context(), want.TenantID, want.InboxID, want.ID)
	if err != nil {
		t.Fatalf("GetTemplate(%s/%s/%s): %v", want.TenantID, want.InboxID, want.ID, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetTemplate(%s/%s/%s) mismatch (-want +got):\n%s", want.TenantID, want.InboxID, want.ID, diff)
	}
}

func wantNoTemplate(t *testing.T, s inbox.Store, tenantID, inboxID, id string) {
	t.Helper()
	if got, err := s.GetTemplate(t.Context(), tenantID, inboxID, id); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("GetTemplate(%s/%s/%s) = %+v, %s; want ErrNotFound", tenantID, inboxID, id, got, errKind(err))
	}
}

// testTemplateCreateGet: every field round-trips; a second create of the
// id is ErrAlreadyExists and changes nothing.
func testTemplateCreateGet(t *testing.T, h Harness) {
	f := newFixture(t, h)
	tp := newTemplate(domainA, f.ib.ID, "t1", "Refund received")
	tp.Locked, tp.UpdatedAt, tp.UpdatedBy = true, t0.Add(time.Minute), bob
	mustCreateTemplate(t, f.s, tp)
	wantTemplate(t, f.s, tp)
	again := newTemplate(domainA, f.ib.ID, "t1", "Other")
	if err := f.s.CreateTemplate(t.Context(), again); !errors.Is(err, inbox.ErrAlreadyExists) {
		t.Errorf("CreateTemplate of a taken id: %s, want ErrAlreadyExists", errKind(err))
	}
	wantTemplate(t, f.s, tp)
	wantNoTemplate(t, f.s, domainA, f.ib.ID, "t2")
}

// testTemplateList: by name, then id; an inbox without templates lists
// none.
func testTemplateList(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	b := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "b", "Apology"))
	a := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "a", "Thanks"))
	c := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "c", "Apology"))
	mustCreateTemplate(t, f.s, newTemplate(domainA, "sales", "s", "Offer"))
	got, err := f.s.ListTemplates(t.Context(), domainA, "support")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]inbox.Template{b, c, a}, got, cmpOpts); diff != "" {
		t.Errorf("ListTemplates(support) (-want +got):\n%s", diff)
	}
	empty := mustCreateInbox(t, f.s, domainA, "empty", "Empty")
	if got, err := f.s.ListTemplates(t.Context(), domainA, empty.ID); err != nil || len(got) != 0 {
		t.Errorf("ListTemplates(empty) = %v, %v; want none", got, err)
	}
}

// testTemplateScoped: the key is (tenant, inbox, id). The same id in
// another inbox or tenant is another template, and no read, update or
// delete through another inbox or tenant reaches it.
func testTemplateScoped(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	mustCreateInbox(t, f.s, domainA, "sales", "Sales")
	mustCreateTenant(t, f.s, domainB)
	mustCreateInbox(t, f.s, domainB, "support", "Support")
	tp := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "t1", "Support's"))
	wantNoTemplate(t, f.s, domainA, "sales", "t1")
	wantNoTemplate(t, f.s, domainB, "support", "t1")
	if got, err := f.s.ListTemplates(ctx, domainB, "support"); err != nil || len(got) != 0 {
		t.Errorf("ListTemplates of tenant B = %v, %v; want none", got, err)
	}
	touch := func(tp *inbox.Template) error { tp.Body = "changed"; return nil }
	if _, err := f.s.UpdateTemplate(ctx, domainA, "sales", "t1", touch); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("UpdateTemplate through another inbox: %s, want ErrNotFound", errKind(err))
	}
	if _, err := f.s.UpdateTemplate(ctx, domainB, "support", "t1", touch); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("UpdateTemplate through another tenant: %s, want ErrNotFound", errKind(err))
	}
	if err := f.s.DeleteTemplate(ctx, domainB, "support", "t1"); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("DeleteTemplate through another tenant: %s, want ErrNotFound", errKind(err))
	}
	sales := mustCreateTemplate(t, f.s, newTemplate(domainA, "sales", "t1", "Sales'"))
	other := mustCreateTemplate(t, f.s, newTemplate(domainB, "support", "t1", "Globex's"))
	wantTemplate(t, f.s, tp)
	wantTemplate(t, f.s, sales)
	wantTemplate(t, f.s, other)
}

func testTemplateUnknownInbox(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for _, tp := range []inbox.Template{
		newTemplate(domainA, "nope", "t1", "X"),
		newTemplate(domainB, "support", "t1", "X"),
	} {
		if err := f.s.CreateTemplate(t.Context(), tp); !errors.Is(err, inbox.ErrNotFound) {
			t.Errorf("CreateTemplate in %s/%s: %s, want ErrNotFound", tp.TenantID, tp.InboxID, errKind(err))
		}
	}
	wantNoTemplate(t, f.s, domainA, "nope", "t1")
}

// testTemplateInvalid: the store refuses what the domain refuses, an
// unknown placeholder included.
func testTemplateInvalid(t *testing.T, h Harness) {
	f := newFixture(t, h)
	for _, tc := range []struct {
		name   string
		change func(*inbox.Template)
	}{
		{"unknown placeholder", func(tp *inbox.Template) { tp.Body = "Hi {{customer.nickname}}" }},
		{"unclosed placeholder", func(tp *inbox.Template) { tp.Body = "Hi {{customer.name" }},
		{"empty body", func(tp *inbox.Template) { tp.Body = "" }},
		{"empty name", func(tp *inbox.Template) { tp.Name = " " }},
		{"no id", func(tp *inbox.Template) { tp.ID = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTemplate(domainA, "support", "t1", "Name")
			tc.change(&tp)
			if err := f.s.CreateTemplate(t.Context(), tp); !errors.Is(err, inbox.ErrInvalid) {
				t.Errorf("CreateTemplate: %s, want ErrInvalid", errKind(err))
			}
		})
	}
	wantNoTemplate(t, f.s, domainA, "support", "t1")
}

// testTemplateUpdate: fn's changes are written whole and returned; fn's
// error comes back as is and writes nothing; keys cannot change; an
// invalid result (an unknown placeholder) writes nothing.
func testTemplateUpdate(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	tp := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "t1", "Refund"))
	want := tp
	want.Name, want.Body, want.Locked, want.UpdatedAt, want.UpdatedBy = "Refund sent", "Done, {{customer.name}}.", true, t0.Add(time.Hour), bob
	got, err := f.s.UpdateTemplate(ctx, domainA, "support", "t1", func(tp *inbox.Template) error {
		tp.Name, tp.Body, tp.Locked, tp.UpdatedAt, tp.UpdatedBy = want.Name, want.Body, want.Locked, want.UpdatedAt, want.UpdatedBy
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateTemplate result (-want +got):\n%s", diff)
	}
	wantTemplate(t, f.s, want)

	errMine := errors.New("mine")
	if _, err := f.s.UpdateTemplate(ctx, domainA, "support", "t1", func(tp *inbox.Template) error { tp.Body = "x"; return errMine }); !errors.Is(err, errMine) {
		t.Errorf("UpdateTemplate with fn failing: %v, want fn's error", err)
	}
	for name, change := range map[string]func(*inbox.Template){
		"moved inbox":         func(tp *inbox.Template) { tp.InboxID = "sales" },
		"new id":              func(tp *inbox.Template) { tp.ID = "t2" },
		"unknown placeholder": func(tp *inbox.Template) { tp.Body = "{{agent.email}}" },
	} {
		if _, err := f.s.UpdateTemplate(ctx, domainA, "support", "t1", func(tp *inbox.Template) error { change(tp); return nil }); !errors.Is(err, inbox.ErrInvalid) {
			t.Errorf("UpdateTemplate (%s): %s, want ErrInvalid", name, errKind(err))
		}
	}
	wantTemplate(t, f.s, want)
	if _, err := f.s.UpdateTemplate(ctx, domainA, "support", "nope", func(*inbox.Template) error { return nil }); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("UpdateTemplate of a missing template: %s, want ErrNotFound", errKind(err))
	}
}

// testTemplateUpdateConcurrent: updates are read-modify-write: none is
// lost when several race.
func testTemplateUpdateConcurrent(t *testing.T, h Harness) {
	f := newFixture(t, h)
	tp := newTemplate(domainA, "support", "t1", "Counter")
	tp.Body = "x"
	mustCreateTemplate(t, f.s, tp)
	const n = 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.s.UpdateTemplate(t.Context(), domainA, "support", "t1", func(tp *inbox.Template) error {
				tp.Body += fmt.Sprint(i)
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateTemplate: %v", err)
		}
	}
	got, err := f.s.GetTemplate(t.Context(), domainA, "support", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Body) != 1+n {
		t.Errorf("body after %d concurrent appends = %q: an update was lost", n, got.Body)
	}
}

func testTemplateDelete(t *testing.T, h Harness) {
	f := newFixture(t, h)
	keep := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "keep", "Keep"))
	mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "gone", "Gone"))
	if err := f.s.DeleteTemplate(t.Context(), domainA, "support", "gone"); err != nil {
		t.Fatal(err)
	}
	wantNoTemplate(t, f.s, domainA, "support", "gone")
	if err := f.s.DeleteTemplate(t.Context(), domainA, "support", "gone"); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("DeleteTemplate twice: %s, want ErrNotFound", errKind(err))
	}
	wantTemplate(t, f.s, keep)
}

func testTemplateReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("Harness.Reopen is nil: this backend cannot open a second store over the same data")
	}
	f := newFixture(t, h)
	tp := mustCreateTemplate(t, f.s, newTemplate(domainA, "support", "t1", "Kept"))
	wantTemplate(t, h.Reopen(t, f.s), tp)
}
