package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// testClock is a clock the test moves forward.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// deliver posts a raw mail to /dev/deliver.
func (h *harness) deliver(to, raw string) []string {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"to": to, "raw": raw})
	resp, err := http.Post(h.app.BaseURL+"/dev/deliver", "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Mailboxes []string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		h.t.Fatalf("/dev/deliver: %s", resp.Status)
	}
	return out.Mailboxes
}

// gmailAs is the user's Gmail, through the real client with the user's
// add-on OAuth token.
func (h *harness) gmailAs(email string) *gmail.Service {
	h.t.Helper()
	tok := h.tokens(email, h.app.BaseURL+"/addon/homepage")
	svc, err := gmail.NewService(context.Background(), option.WithEndpoint(h.app.BaseURL+"/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.UserOAuthToken})))
	if err != nil {
		h.t.Fatal(err)
	}
	return svc
}

// threadLabels returns the label names on the thread of a mail in a
// user's mailbox.
func (h *harness) threadLabels(email, rfcID string) []string {
	h.t.Helper()
	svc := h.gmailAs(email)
	list, err := svc.Users.Messages.List("me").Q("rfc822msgid:" + rfcID).Do()
	if err != nil || len(list.Messages) == 0 {
		return nil
	}
	th, err := svc.Users.Threads.Get("me", list.Messages[0].ThreadId).Format("minimal").Do()
	if err != nil {
		h.t.Fatal(err)
	}
	ls, err := svc.Users.Labels.List("me").Do()
	if err != nil {
		h.t.Fatal(err)
	}
	names := map[string]string{}
	for _, l := range ls.Labels {
		names[l.Id] = l.Name
	}
	var out []string
	for _, id := range th.Messages[0].LabelIds {
		if strings.HasPrefix(names[id], "Postfach/") {
			out = append(out, names[id])
		}
	}
	slices.Sort(out)
	return out
}

// eventually polls cond until it holds; it reports how long that took.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := time.Since(start)
	t.Logf("%s after %v", what, d.Round(time.Millisecond))
	return d
}

func (h *harness) unassigned(email string) string {
	return widgetText(h.homepage(email).card, "Unassigned")
}

// TestDevSyncLoop is the push-sync loop of `postfach dev`, end to end:
// /dev/deliver → Gmail simulator → Pub/Sub push with a signed token →
// /gmail/push → history sync through the real gmail/v1 client → store and
// labels, and labels set in Gmail flowing back.
func TestDevSyncLoop(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{}
			testDevSyncLoop(t, clock, startHarnessWith(t, devConfig{Now: clock.Now, Store: storeConfig{Kind: kind}}))
		})
	}
}

func testDevSyncLoop(t *testing.T, clock *testClock, h *harness) {
	ctx := context.Background()
	before := h.unassigned("bob@example.com")

	got := h.deliver("support@example.com", "From: Nora <nora@customer.example>\r\nTo: support@example.com\r\nSubject: Broken invoice\r\nMessage-ID: <nora1@customer.example>\r\n\r\nThe invoice is broken.\r\n")
	if !slices.Equal(got, []string{"alice@example.com", "bob@example.com", "carol@example.com"}) {
		t.Fatalf("delivered to %v", got)
	}
	var n int
	fmt.Sscanf(strings.Trim(before, "<b/>"), "%d", &n)
	want := fmt.Sprintf("<b>%d</b>", n+1)
	eventually(t, "Unassigned +1 on the homepage", func() bool { return h.unassigned("bob@example.com") == want })
	for _, u := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		eventually(t, "labelled Open in "+u, func() bool {
			return slices.Equal(h.threadLabels(u, "nora1@customer.example"), []string{"Postfach/Support/Open"})
		})
	}
	convID := inbox.ConversationID("support", "nora1@customer.example")
	status := func(want inbox.Status) func() bool {
		return func() bool {
			c, err := h.app.Store.GetConversation(ctx, "example.com", convID)
			return err == nil && c.Status == want
		}
	}

	// Bob closes it in the sidebar; the labels follow.
	card := h.open("bob@example.com", "nora1@customer.example")
	if r := h.click("bob@example.com", button(t, card.card, "Close"), nil); r.status != http.StatusOK {
		t.Fatalf("close: %d %s", r.status, r.raw)
	}
	eventually(t, "labelled Closed in carol's mailbox", func() bool {
		return slices.Equal(h.threadLabels("carol@example.com", "nora1@customer.example"), []string{"Postfach/Support/Closed"})
	})

	// The customer answers: reopened.
	clock.Advance(time.Minute)
	h.deliver("support@example.com", "From: nora@customer.example\r\nTo: support@example.com\r\nSubject: Re: Broken invoice\r\nMessage-ID: <nora2@customer.example>\r\nIn-Reply-To: <nora1@customer.example>\r\nReferences: <nora1@customer.example>\r\n\r\nStill broken.\r\n")
	eventually(t, "reopened by the customer's reply", status(inbox.StatusOpen))

	// Bob replies from his own Gmail (copying the group): Pending. Only a
	// mail really sent from his mailbox counts as his reply: the copy
	// Gmail labels SENT there; a From naming him proves nothing.
	clock.Advance(time.Minute)
	reply := "From: Bob <bob@example.com>\r\nTo: nora@customer.example\r\nCc: support@example.com\r\nSubject: Re: Broken invoice\r\nMessage-ID: <bob1@example.com>\r\nIn-Reply-To: <nora2@customer.example>\r\nReferences: <nora1@customer.example> <nora2@customer.example>\r\n\r\nFixed.\r\n"
	if _, err := h.gmailAs("bob@example.com").Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte(reply))}).Do(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pending after bob's reply", status(inbox.StatusPending))
	eventually(t, "labelled Pending in carol's mailbox", func() bool {
		return slices.Equal(h.threadLabels("carol@example.com", "nora1@customer.example"), []string{"Postfach/Support/Pending"})
	})

	// Carol closes it in Gmail by adding the label, once Postfach's own
	// labelling of bob's reply is done everywhere. (A user's label change
	// racing Postfach's relabelling of the same thread can be undone by
	// it: the relabelling removes the other state labels, and the sync
	// then sees the label gone again. That race is a known limitation.)
	h.settle()
	clock.Advance(time.Minute)
	carol := h.gmailAs("carol@example.com")
	ls, err := carol.Users.Labels.List("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	closed := ""
	for _, l := range ls.Labels {
		if l.Name == "Postfach/Support/Closed" {
			closed = l.Id
		}
	}
	list, err := carol.Users.Messages.List("me").Q("rfc822msgid:nora1@customer.example").Do()
	if err != nil || len(list.Messages) != 1 {
		t.Fatalf("carol's copy: %v %v", list, err)
	}
	if _, err := carol.Users.Threads.Modify("me", list.Messages[0].ThreadId, &gmail.ModifyThreadRequest{AddLabelIds: []string{closed}}).Do(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "closed by carol's label", status(inbox.StatusClosed))
	eventually(t, "labels settle on Closed in bob's mailbox", func() bool {
		return slices.Equal(h.threadLabels("bob@example.com", "nora1@customer.example"), []string{"Postfach/Support/Closed"})
	})
	c, _ := h.app.Store.GetConversation(ctx, "example.com", convID)
	if c.UpdatedBy != "carol@example.com" {
		t.Errorf("closed by %q, want carol", c.UpdatedBy)
	}
}

func TestPushAndTaskEndpoints(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	push := h.app.BaseURL + "/gmail/push"
	good, _ := h.app.Root.SystemIDToken(push, devPushServiceAccount)
	foreign, _ := h.app.Root.SystemIDToken(push, "someone@evil.example")
	wrongAud, _ := h.app.Root.SystemIDToken(h.app.BaseURL+"/elsewhere", devPushServiceAccount)
	other, _ := addontest.NewTrustRoot()
	forged, _ := other.SystemIDToken(push, devPushServiceAccount)
	unverified, _ := h.app.Root.SystemIDToken(push, devPushServiceAccount, addontest.WithoutEmailVerified())
	body := gmailsim.PubSubBody(gmailsim.Notification{EmailAddress: "bob@example.com", HistoryID: 1}, "1", "projects/p/subscriptions/s")
	unknown := gmailsim.PubSubBody(gmailsim.Notification{EmailAddress: "nobody@example.com", HistoryID: 5}, "2", "projects/p/subscriptions/s")
	renew := h.app.BaseURL + "/tasks/renew-watches"
	renewTok, _ := h.app.Root.SystemIDToken(renew, devSchedulerServiceAccount)
	pushTokOnTask, _ := h.app.Root.SystemIDToken(renew, devPushServiceAccount)

	tests := []struct {
		name, url, token string
		body             []byte
		want             int
	}{
		{"push ok", push, good, body, http.StatusNoContent},
		{"push for an unlinked mailbox is acknowledged", push, good, unknown, http.StatusNoContent},
		{"push without token", push, "", body, http.StatusUnauthorized},
		{"push from a foreign service account", push, foreign, body, http.StatusUnauthorized},
		{"push with the wrong audience", push, wrongAud, body, http.StatusUnauthorized},
		{"push signed by someone else", push, forged, body, http.StatusUnauthorized},
		{"push with unverified email", push, unverified, body, http.StatusUnauthorized},
		{"push not JSON", push, good, []byte("{"), http.StatusBadRequest},
		{"push without data", push, good, []byte(`{"message":{}}`), http.StatusBadRequest},
		{"push data not base64", push, good, []byte(`{"message":{"data":"%%%"}}`), http.StatusBadRequest},
		{"push data without history", push, good, []byte(`{"message":{"data":"eyJlbWFpbEFkZHJlc3MiOiJib2JAZXhhbXBsZS5jb20ifQ=="}}`), http.StatusBadRequest},
		{"push too large", push, good, bytes.Repeat([]byte("x"), 1<<20), http.StatusRequestEntityTooLarge},
		{"renew ok", renew, renewTok, nil, http.StatusOK},
		{"renew without token", renew, "", nil, http.StatusUnauthorized},
		{"renew with the push account", renew, pushTokOnTask, nil, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tc.url, bytes.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	_ = addon.User{}
}
