package desk_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// racingStore lets another writer in just before the first conversation
// write a bulk change makes: the write is computed from a version that is
// no longer the stored one.
type racingStore struct {
	inbox.Store
	once sync.Once
	race func(ctx context.Context, s inbox.Store)
}

func (r *racingStore) UpdateConversation(ctx context.Context, c inbox.Conversation, ev inbox.Activity) error {
	r.once.Do(func() { r.race(ctx, r.Store) })
	return r.Store.UpdateConversation(ctx, c, ev)
}

// TestBulkChangeRaces: an admin's bulk change (a removed member's
// conversations unassigned, a removed status's moved) that loses the race
// for a conversation reloads it and applies itself to what is stored now:
// the other writer's change is kept, and a conversation that no longer
// needs the change is left alone and not counted.
func TestBulkChangeRaces(t *testing.T) {
	t.Parallel()
	// bob writes first: a tag, or he takes the conversation, or closes it.
	tag := func(c *inbox.Conversation, _ inbox.Inbox) (inbox.Activity, error) {
		return c.AddTag(bob.Email, "vip", t0)
	}
	take := func(c *inbox.Conversation, ib inbox.Inbox) (inbox.Activity, error) {
		return c.Assign(ib, bob.Email, bob.Email, t0)
	}
	closeIt := func(c *inbox.Conversation, ib inbox.Inbox) (inbox.Activity, error) {
		return c.SetStage(ib, bob.Email, "closed", t0)
	}
	tests := []struct {
		name       string
		bob        func(*inbox.Conversation, inbox.Inbox) (inbox.Activity, error)
		act        string // "remove-member" (carol) or "remove-status" (waiting, moved to open)
		wantCount  int
		wantOwner  string
		wantStatus inbox.Status
	}{
		{"member removed, bob tags meanwhile", tag, "remove-member", 1, "", inbox.StatusPending},
		{"member removed, bob takes it meanwhile", take, "remove-member", 0, bob.Email, inbox.StatusPending},
		{"status removed, bob tags meanwhile", tag, "remove-status", 1, carol.Email, inbox.StatusOpen},
		{"status removed, bob closes it meanwhile", closeIt, "remove-status", 0, carol.Email, inbox.StatusClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := t.Context()
			if _, err := f.store.UpdateTenant(ctx, "example.com", func(tn *inbox.Tenant) error {
				tn.Admins = []string{alice.Email}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ib, err := f.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
				ib.Settings.Workflow.Statuses = append(inbox.BuiltinStatuses(), inbox.StatusDef{ID: "waiting", Name: "Waiting", Category: inbox.StatusPending})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The refund is carol's, waiting.
			c := f.refund
			for _, step := range []func(*inbox.Conversation) (inbox.Activity, error){
				func(c *inbox.Conversation) (inbox.Activity, error) { return c.Assign(ib, alice.Email, carol.Email, t0) },
				func(c *inbox.Conversation) (inbox.Activity, error) { return c.SetStage(ib, alice.Email, "waiting", t0) },
			} {
				ev, err := step(&c)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.store.UpdateConversation(ctx, c, ev); err != nil {
					t.Fatal(err)
				}
			}
			racing := &racingStore{Store: f.store, race: func(ctx context.Context, s inbox.Store) {
				c, err := s.GetConversation(ctx, "example.com", f.refund.ID)
				if err != nil {
					t.Error(err)
					return
				}
				ev, err := tc.bob(&c, ib)
				if err == nil {
					err = s.UpdateConversation(ctx, c, ev)
				}
				if err != nil {
					t.Errorf("bob's change: %v", err)
				}
			}}
			svc := desk.New(desk.Options{Store: racing, Reader: f.mail, Now: f.clock.Now})
			var n int
			switch tc.act {
			case "remove-member":
				if _, err := svc.Admin(ctx, alice, desk.AdminAction{Op: desk.AdminRemove, InboxID: "support", Emails: carol.Email}); err != nil {
					t.Fatal(err)
				}
				acts, _ := f.store.ListActivity(ctx, "example.com", f.refund.ID, 50)
				for _, a := range acts {
					if a.Kind == inbox.ActUnassigned {
						n++
					}
				}
			case "remove-status":
				res, err := svc.ChangeStatuses(ctx, alice, desk.StatusAction{Op: desk.StatusRemove, InboxID: "support", StatusID: "waiting", Target: "open"})
				if err != nil {
					t.Fatal(err)
				}
				n = res.Moved
			}
			got := f.stored(t, "example.com", f.refund.ID)
			if n != tc.wantCount || got.Assignee != tc.wantOwner || got.Status != tc.wantStatus {
				t.Errorf("changed %d, stored owner %q status %s; want %d, %q, %s", n, got.Assignee, got.Status, tc.wantCount, tc.wantOwner, tc.wantStatus)
			}
			if tc.name == tests[0].name || tc.name == tests[2].name {
				if !slices.Contains(got.Tags, "vip") {
					t.Errorf("bob's tag lost: %v", got.Tags)
				}
			}
		})
	}
}
