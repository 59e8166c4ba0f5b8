package gmailclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/syncer"
)

// simulator serves a Gmail simulator that accepts "tok-<mailbox>".
func simulator(t *testing.T, o gmailsim.Options) (*gmailsim.Server, string) {
	t.Helper()
	o.Authenticate = func(r *http.Request) (string, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		if !ok {
			return "", errors.New("bad token")
		}
		return tok, nil
	}
	sim := gmailsim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.AddMailbox("bob@example.com")
	return sim, srv.URL + "/"
}

func TestReaderMessageHeaders(t *testing.T) {
	t.Parallel()
	sim, endpoint := simulator(t, gmailsim.Options{})
	raw := "From: =?UTF-8?Q?J=C3=BCrgen?= <j@x.example>\r\nTo: support@example.com\r\nCc: a@b.example\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <m1@x.example>\r\nReferences: <r0@x.example>\r\nIn-Reply-To: <r0@x.example>\r\nList-Id: Support <support.example.com>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\n\r\nsecret body\r\n"
	got, err := sim.Deliver([]byte(raw), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	r := gmailclient.New(gmailclient.Options{Endpoint: endpoint})
	h, err := r.MessageHeaders(context.Background(), desk.GmailAccess{OAuthToken: "tok-bob@example.com", MessageToken: "x"}, got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := desk.MessageHeaders{
		MessageID: "<m1@x.example>", InReplyTo: "<r0@x.example>", References: "<r0@x.example>", Subject: "Grüße",
		From: "Jürgen <j@x.example>", To: "support@example.com", Cc: "a@b.example",
		DeliveredTo: []string{"bob@example.com"}, ListID: "Support <support.example.com>",
		Date: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
	}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("headers =\n%+v\nwant\n%+v", h, want)
	}
	for _, tc := range []struct {
		name  string
		token string
		id    string
	}{{"unknown message", "tok-bob@example.com", "ffffffffffffffff"}, {"bad token", "nope", got[0].ID}, {"no token", "", got[0].ID}} {
		if _, err := r.MessageHeaders(context.Background(), desk.GmailAccess{OAuthToken: tc.token}, tc.id); !errors.Is(err, desk.ErrMessageUnavailable) {
			t.Errorf("%s: err = %v, want ErrMessageUnavailable", tc.name, err)
		}
	}
}

type tokens struct{}

func (tokens) TokenSource(_ context.Context, mailbox string) (oauth2.TokenSource, error) {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-" + mailbox}), nil
}

func TestDialerRetriesAndGivesUp(t *testing.T) {
	t.Parallel()
	sim, endpoint := simulator(t, gmailsim.Options{})
	d := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: tokens{}, BaseBackoff: time.Millisecond, MaxAttempts: 4})
	g, err := d.Mailbox(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// Three transient failures, then success.
	sim.InjectFaults("bob@example.com", "getProfile", gmailsim.FaultRateLimited, gmailsim.FaultUserRateLimited, gmailsim.FaultBackendError)
	if _, err := g.HistoryID(context.Background()); err != nil {
		t.Fatalf("after 3 transient faults: %v", err)
	}
	// More failures than attempts.
	sim.InjectFaults("bob@example.com", "getProfile", gmailsim.FaultUnavailable, gmailsim.FaultUnavailable, gmailsim.FaultUnavailable, gmailsim.FaultUnavailable)
	if _, err := g.HistoryID(context.Background()); err == nil || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("err = %v, want giving up after 4 attempts", err)
	}
	// A 404 history is ErrHistoryGone, not retried.
	if err := sim.ExpireHistory("bob@example.com", 1<<40); err != nil {
		t.Fatal(err)
	}
	_, err = g.History(context.Background(), 1, func([]syncer.HistoryRecord) error { return nil })
	if !errors.Is(err, syncer.ErrHistoryGone) {
		t.Fatalf("history of an expired cursor: %v, want ErrHistoryGone", err)
	}
}

// TestHistoryCarriesMessageLabels: label records come with the labels their
// message has after the change; the syncer settles its own echo from them
// without fetching the message.
func TestHistoryCarriesMessageLabels(t *testing.T) {
	t.Parallel()
	sim, endpoint := simulator(t, gmailsim.Options{})
	ctx := context.Background()
	d := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: tokens{}})
	g, err := d.Mailbox(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	start, err := g.HistoryID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sim.Deliver([]byte("From: a@x.example\r\nTo: bob@example.com\r\nSubject: Hi\r\nMessage-ID: <h1@x.example>\r\n\r\nHi\r\n"), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	open, err := sim.CreateLabel("bob@example.com", "Postfach/Support/Open")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Modify("bob@example.com", got[0].ID, []string{open}, []string{"UNREAD"}); err != nil {
		t.Fatal(err)
	}
	var recs []syncer.HistoryRecord
	if _, err := g.History(ctx, start, func(page []syncer.HistoryRecord) error {
		recs = append(recs, page...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var added, removed []syncer.LabelChange
	for _, r := range recs {
		added = append(added, r.LabelsAdded...)
		removed = append(removed, r.LabelsRemoved...)
	}
	want := func(ch []syncer.LabelChange, labels, msgLabels []string) string {
		if len(ch) != 1 {
			return fmt.Sprintf("%d changes, want 1", len(ch))
		}
		c := ch[0]
		if c.Message.ID != got[0].ID || c.Message.ThreadID != got[0].ThreadID ||
			!slices.Equal(c.LabelIDs, labels) || !slices.Equal(c.Message.LabelIDs, msgLabels) {
			return fmt.Sprintf("%+v, want labels %v on a message now labelled %v", c, labels, msgLabels)
		}
		return ""
	}
	if msg := want(added, []string{open}, []string{"INBOX", "UNREAD", open}); msg != "" {
		t.Errorf("labelAdded: %s", msg)
	}
	if msg := want(removed, []string{"UNREAD"}, []string{"INBOX", open}); msg != "" {
		t.Errorf("labelRemoved: %s", msg)
	}
}

// TestModifyMessagesCheapest: labelling fewer than 10 messages costs one
// messages.modify each (5 units), more one batchModify (50 units); a
// message deleted meanwhile does not fail the others.
func TestModifyMessagesCheapest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		n       int
		deleted bool
		want    map[string]int
	}{
		{"one", 1, false, map[string]int{"messages.modify": 1}},
		{"nine", 9, false, map[string]int{"messages.modify": 9}},
		{"ten", 10, false, map[string]int{"messages.batchModify": 1}},
		{"one of two deleted", 2, true, map[string]int{"messages.modify": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, endpoint := simulator(t, gmailsim.Options{})
			ctx := context.Background()
			g, err := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: tokens{}}).Mailbox(ctx, "bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			label, err := sim.CreateLabel("bob@example.com", "Postfach/Support/Open")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i := range tc.n {
				got, err := sim.Deliver([]byte(fmt.Sprintf("From: a@x.example\r\nTo: bob@example.com\r\nSubject: %d\r\nMessage-ID: <m%d@x.example>\r\n\r\nHi\r\n", i, i)), "bob@example.com")
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, got[0].ID)
			}
			if tc.deleted {
				if err := sim.DeleteMessage("bob@example.com", ids[0]); err != nil {
					t.Fatal(err)
				}
			}
			_, before := sim.Usage("bob@example.com")
			if err := g.ModifyMessages(ctx, ids, []string{label}, nil); err != nil {
				t.Fatal(err)
			}
			_, after := sim.Usage("bob@example.com")
			calls := map[string]int{}
			for k, v := range after {
				if d := v - before[k]; d != 0 {
					calls[k] = d
				}
			}
			if fmt.Sprint(calls) != fmt.Sprint(tc.want) {
				t.Errorf("calls = %v, want %v", calls, tc.want)
			}
			msgs := sim.MessagesOf("bob@example.com")
			if len(msgs) != len(ids) && !tc.deleted {
				t.Fatalf("%d messages, want %d", len(msgs), len(ids))
			}
			for _, m := range msgs {
				if !slices.Contains(m.LabelIDs, label) {
					t.Errorf("message %s not labelled: %v", m.ID, m.LabelIDs)
				}
			}
		})
	}
}

// handlerTransport serves requests in process with h, so that a benchmark
// measures the client's work and the simulator's, not the network's.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// BenchmarkReaderMessageHeaders is one sidebar read of an open message,
// through the real gmail/v1 client and the simulator, in process. Run with
// -benchmem: allocs/op is the client's cost per card plus the simulator's.
func BenchmarkReaderMessageHeaders(b *testing.B) {
	sim := gmailsim.New(gmailsim.Options{Authenticate: func(r *http.Request) (string, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		if !ok {
			return "", errors.New("bad token")
		}
		return tok, nil
	}})
	sim.AddMailbox("bob@example.com")
	got, err := sim.Deliver([]byte("From: a@x.example\r\nTo: support@example.com\r\nSubject: Hi\r\nMessage-ID: <m1@x.example>\r\n\r\nbody\r\n"), "bob@example.com")
	if err != nil {
		b.Fatal(err)
	}
	r := gmailclient.New(gmailclient.Options{Endpoint: "http://gmail.test/", Transport: handlerTransport{sim.Handler()}})
	access := desk.GmailAccess{OAuthToken: "tok-bob@example.com", MessageToken: "x"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.MessageHeaders(ctx, access, got[0].ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDialerMailbox is what the sync side pays to open a mailbox (once
// per sync, watch or mirrored thread): a gmail.Service over the mailbox's
// token source, which the TokenSources keep (mailboxauth caches them).
func BenchmarkDialerMailbox(b *testing.B) {
	d := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: "http://gmail.test/", Tokens: tokens{}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Mailbox(ctx, "bob@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
