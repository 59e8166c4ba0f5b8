package syncer_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/inbox"
)

// TestDraftsAreNotReplies: a member's draft reply in a Support thread, even
// when it is updated, and a draft addressed to the shared address change
// nothing: no team reply, no status, no activity, no conversation. Only
// sending the draft is bob's reply.
func TestDraftsAreNotReplies(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "r1@customer.example"))
		e.settle()
		before := e.conv(support, "r1@customer.example")
		actsBefore, err := e.store.ListActivity(ctx, "example.com", before.ID, 50)
		if err != nil {
			t.Fatal(err)
		}

		bob := e.gmailAs("bob@example.com")
		root, _ := e.sim.FindByMessageID("bob@example.com", "r1@customer.example")
		b64 := func(raw []byte) string { return base64.URLEncoding.EncodeToString(raw) }
		reply := &gmail.Draft{Message: &gmail.Message{ThreadId: root.ThreadID,
			Raw: b64(mail("Bob <bob@example.com>", "dana@customer.example", "support@example.com", "Re: Refund", "d1@example.com", "r1@customer.example"))}}
		d, err := bob.Users.Drafts.Create("me", reply).Do()
		if err != nil {
			t.Fatal(err)
		}
		if d.Message.ThreadId != root.ThreadID {
			t.Fatalf("draft in thread %s, want the customer's %s", d.Message.ThreadId, root.ThreadID)
		}
		e.clock.Advance(time.Minute)
		reply.Message.Raw = b64(mail("Bob <bob@example.com>", "dana@customer.example", "support@example.com", "Re: Refund", "d1b@example.com", "r1@customer.example"))
		if _, err := bob.Users.Drafts.Update("me", d.Id, reply).Do(); err != nil {
			t.Fatal(err)
		}
		question, err := bob.Users.Drafts.Create("me", &gmail.Draft{Message: &gmail.Message{
			Raw: b64(mail("Bob <bob@example.com>", "support@example.com", "", "Internal question", "d2@example.com"))}}).Do()
		if err != nil {
			t.Fatal(err)
		}
		e.settle()

		if diff := cmp.Diff(before, e.conv(support, "r1@customer.example")); diff != "" {
			t.Errorf("drafts changed the conversation (-before +after):\n%s", diff)
		}
		if acts, err := e.store.ListActivity(ctx, "example.com", before.ID, 50); err != nil || len(acts) != len(actsBefore) {
			t.Errorf("activity grew from %d to %d entries (%v)", len(actsBefore), len(acts), err)
		}
		for ib, want := range map[string]int{"support": 1, "sales": 0} {
			n, err := e.store.CountConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: ib})
			if err != nil || n != want {
				t.Errorf("inbox %s holds %d conversations (%v), want %d", ib, n, err, want)
			}
		}

		// Sending the draft is the reply; the other draft goes away unsent.
		e.clock.Advance(time.Minute)
		if _, err := bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do(); err != nil {
			t.Fatal(err)
		}
		if err := bob.Users.Drafts.Delete("me", question.Id).Do(); err != nil {
			t.Fatal(err)
		}
		e.settle()
		if c := e.conv(support, "r1@customer.example"); c.Status != inbox.StatusPending || c.FirstResponseAt.IsZero() {
			t.Fatalf("after bob sent the draft: %+v", c)
		}
		e.check(map[string]int{"support": 1, "sales": 0})
	})
}
