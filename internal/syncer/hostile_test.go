package syncer_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// encodedWord is text as an RFC 2047 base64 encoded word.
func encodedWord(s string) string {
	return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
}

// TestHostileMails delivers mails whose headers attack the parsing of names
// and subjects through the real sync (gmail/v1 client → simulator over HTTP
// → store), then renders the list and conversation cards: they must encode
// (protojson refuses invalid UTF-8, which made every list a 500) and show
// the name and subject as Gmail shows them.
func TestHostileMails(t *testing.T) {
	tests := []struct {
		name, from, subject string
		wantName, wantSubj  string
	}{
		{"nested encoded word in the From name", encodedWord(encodedWord("\xff")) + " <nora@customer.example>", "Nested",
			encodedWord("\xff"), "Nested"},
		{"literal encoded word in the subject", "nora@customer.example", encodedWord(encodedWord("Hi")),
			"nora@customer.example", encodedWord("Hi")},
		{"invalid UTF-8 in subject and name (raw 8-bit header)", "J\xfcrgen <j@customer.example>", "Caf\xe9 \xff",
			"J\uFFFDrgen", "Caf\uFFFD \uFFFD"},
		{"quoted name with comma and angle brackets", `"Doe, Jane <CEO>" <jane@x.example>`, "Quoted",
			"Doe, Jane <CEO>", "Quoted"},
		{"the same name as an encoded word", encodedWord("Doe, Jane <CEO>") + " <jane@x.example>", "Encoded",
			"Doe, Jane <CEO>", "Encoded"},
		{"bidi and control characters", "Eve\u202e\x07 Admin <eve@x.example>", "Pay\x07 now\u202e gpj.exe",
			"Eve Admin", "Pay now gpj.exe"},
		{"empty From", "", "No sender", "Unknown sender", "No sender"},
		{"From with only an address", "<only@customer.example>", "Bare", "only@customer.example", "Bare"},
	}
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		for i, tc := range tests {
			id := strings.ReplaceAll(tc.name, " ", "-") + "@hostile.example"
			raw := "From: " + tc.from + "\r\nTo: support@example.com\r\nSubject: " + tc.subject +
				"\r\nMessage-ID: <" + id + ">\r\nDate: " + time.Now().Add(time.Duration(i)*time.Second).Format(time.RFC1123Z) + "\r\n\r\nHello.\r\n"
			e.deliverToGroup(support, []byte(raw))
		}
		e.settle()
		page, err := e.store.ListConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: support.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		b := cards.Builder{ActionURL: "https://postfach.example/addon/action"}
		list, err := protojson.Marshal(b.List(desk.List{Inbox: support, Filter: desk.FilterOpen, Conversations: page.Conversations, Now: time.Now()}))
		if err != nil {
			t.Fatalf("the list card does not encode: %v", err)
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := e.conv(support, strings.ReplaceAll(tc.name, " ", "-")+"@hostile.example")
				acts, err := e.store.ListActivity(ctx, "example.com", c.ID, 5)
				if err != nil {
					t.Fatal(err)
				}
				conv, err := protojson.Marshal(b.Conversation(desk.View{Inbox: support, Me: support.Members[0], Conversation: c, Activity: acts, Now: time.Now()}))
				if err != nil {
					t.Fatalf("the conversation card does not encode: %v", err)
				}
				for card, js := range map[string][]byte{"list": list, "conversation": conv} {
					for _, want := range []string{html.EscapeString(tc.wantName), html.EscapeString(tc.wantSubj)} {
						if !strings.Contains(string(js), want) {
							t.Errorf("%s card lacks %q", card, want)
						}
					}
				}
			})
		}
	})
}

// TestForgedTeamReply: a mail from outside that claims to be a member's
// reply (From: Bob, Cc support@, threaded into the conversation) changes
// neither the status nor the first response time nor the activity; Bob's
// real reply, sent from his mailbox, does, even when the group's copies of
// it are synced before his own.
func TestForgedTeamReply(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		ctx := context.Background()
		e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "f1@customer.example"))
		e.settle()
		before := e.conv(support, "f1@customer.example")

		e.deliverToGroup(support, mail("Bob <bob@example.com>", "dana@customer.example", "support@example.com", "Re: Refund", "forged@evil.example", "f1@customer.example"))
		e.settle()
		after := e.conv(support, "f1@customer.example")
		if after.Status != inbox.StatusOpen || !after.FirstResponseAt.IsZero() || after.Version != before.Version {
			t.Fatalf("after the forged reply: %+v", after)
		}
		acts, err := e.store.ListActivity(ctx, "example.com", after.ID, 10)
		if err != nil || len(acts) != 1 || acts[0].Kind != inbox.ActCreated {
			t.Fatalf("activity after the forged reply = %+v (%v)", acts, err)
		}
		e.check(map[string]int{"support": 1})

		// Bob's real reply; his own mailbox's notifications come last.
		e.send("bob@example.com", mail("Bob <bob@example.com>", "dana@customer.example", "support@example.com", "Re: Refund", "real@example.com", "f1@customer.example"))
		notes := e.take()
		slices.SortStableFunc(notes, func(a, b gmailsim.Notification) int {
			return boolCmp(a.EmailAddress == "bob@example.com", b.EmailAddress == "bob@example.com")
		})
		e.push(e.syncer, notes)
		e.settle()
		c := e.conv(support, "f1@customer.example")
		if c.Status != inbox.StatusPending || c.FirstResponseAt.IsZero() {
			t.Fatalf("after bob's real reply: %+v", c)
		}
		acts, err = e.store.ListActivity(ctx, "example.com", c.ID, 10)
		if err != nil || len(acts) != 2 || acts[0].Actor != "bob@example.com" || acts[0].Kind != inbox.ActStatus || acts[0].To != string(inbox.StatusPending) {
			t.Fatalf("activity after bob's real reply = %+v (%v)", acts, err)
		}
		e.check(map[string]int{"support": 1})
	})
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// TestTeamStartsConversation: a conversation a member opens by mailing a
// customer with the group in Cc starts as the team's, whichever copy is
// synced first.
func TestTeamStartsConversation(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, envOptions{store: store})
		e.send("carol@example.com", mail("Carol <carol@example.com>", "erin@customer.example", "support@example.com", "Your order", "o1@example.com"))
		notes := e.take()
		slices.SortStableFunc(notes, func(a, b gmailsim.Notification) int {
			return boolCmp(a.EmailAddress == "carol@example.com", b.EmailAddress == "carol@example.com")
		})
		e.push(e.syncer, notes)
		e.settle()
		c := e.conv(support, "o1@example.com")
		if c.Status != inbox.StatusPending || c.FirstResponseAt.IsZero() || c.Customer != "erin@customer.example" {
			t.Fatalf("conversation the team started = %+v", c)
		}
		e.check(map[string]int{"support": 1})
	})
}

// TestBogusHistoryID: a push announcing a history id far past Gmail's (a
// forged or corrupted push) is forgotten once Gmail says where its history
// ends; a later ordinary push then costs one history read, not one per
// sync round.
func TestBogusHistoryID(t *testing.T) {
	t.Parallel()
	for _, bogus := range []uint64{math.MaxInt64, math.MaxUint64} {
		t.Run(fmt.Sprint(bogus), func(t *testing.T) {
			forEachStore(t, func(t *testing.T, store string) {
				e := newEnv(t, envOptions{store: store})
				ctx := context.Background()
				if err := e.syncer.Notify(ctx, "bob@example.com", bogus); err != nil {
					t.Fatal(err)
				}
				if err := e.syncer.Sync(ctx, "bob@example.com"); err != nil {
					t.Fatal(err)
				}
				mb, err := e.store.GetMailbox(ctx, "bob@example.com")
				if err != nil || mb.NotifiedHistoryID > mb.HistoryID {
					t.Errorf("after the bogus push: cursor %d, announced %d (%v)", mb.HistoryID, mb.NotifiedHistoryID, err)
				}

				e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", "After", "after@customer.example"))
				var last gmailsim.Notification
				for _, n := range e.take() {
					if n.EmailAddress == "bob@example.com" {
						last = n
					}
				}
				_, before := e.sim.Usage("bob@example.com")
				e.push(e.syncer, []gmailsim.Notification{last})
				_, after := e.sim.Usage("bob@example.com")
				if got := after["history.list"] - before["history.list"]; got != 1 {
					t.Errorf("an ordinary push after the bogus one read history %d times, want 1", got)
				}
				e.conv(support, "after@customer.example")
			})
		})
	}
}
