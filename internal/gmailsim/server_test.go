package gmailsim_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/internal/gmailsim"
)

// testEnv is a simulator behind a real HTTP server.
type testEnv struct {
	sim *gmailsim.Server
	url string
}

// authenticate maps "Bearer token-<address>" to <address>.
func authenticate(r *http.Request) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer token-")
	if !ok || tok == "" {
		return "", errors.New("no valid token")
	}
	return tok, nil
}

// MustStart starts a simulator with the given mailboxes.
func MustStart(tb testing.TB, opts gmailsim.Options, mailboxes ...string) *testEnv {
	tb.Helper()
	if opts.Authenticate == nil {
		opts.Authenticate = authenticate
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sim := gmailsim.New(opts)
	for _, mb := range mailboxes {
		sim.AddMailbox(mb)
	}
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	return &testEnv{sim: sim, url: srv.URL}
}

// MustService returns a real Gmail client acting with the given token.
func (e *testEnv) MustService(tb testing.TB, token string) *gmail.Service {
	tb.Helper()
	ctx := context.Background()
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
	svc, err := gmail.NewService(ctx, option.WithEndpoint(e.url+"/"), option.WithHTTPClient(hc))
	if err != nil {
		tb.Fatalf("gmail.NewService: %v", err)
	}
	return svc
}

// MustClient returns a client for the mailbox's own token.
func (e *testEnv) MustClient(tb testing.TB, mailbox string) *gmail.Service {
	tb.Helper()
	return e.MustService(tb, "token-"+mailbox)
}

// MustDeliver delivers raw and fails the test on error.
func (e *testEnv) MustDeliver(tb testing.TB, raw string, to ...string) []gmailsim.Delivered {
	tb.Helper()
	d, err := e.sim.Deliver([]byte(raw), to...)
	if err != nil {
		tb.Fatalf("Deliver: %v", err)
	}
	return d
}

// apiError unwraps the *googleapi.Error of a client call.
func apiError(tb testing.TB, err error) *googleapi.Error {
	tb.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		tb.Fatalf("got error %v (%T), want *googleapi.Error", err, err)
	}
	return gerr
}

// assertAPIError checks the status code and first reason of err.
func assertAPIError(tb testing.TB, err error, code int, reason string) *googleapi.Error {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %d %s", code, reason)
	}
	gerr := apiError(tb, err)
	if gerr.Code != code {
		tb.Errorf("Code=%d, want %d (body %s)", gerr.Code, code, gerr.Body)
	}
	if len(gerr.Errors) == 0 || gerr.Errors[0].Reason != reason {
		tb.Errorf("Errors=%+v, want reason %q", gerr.Errors, reason)
	}
	return gerr
}

func mailText(messageID, subject, extra, body string) string {
	var b strings.Builder
	b.WriteString("From: Customer <customer@example.org>\r\n")
	b.WriteString("To: support@acme.test\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("Date: Mon, 2 Jun 2025 10:00:00 +0000\r\n")
	if messageID != "" {
		b.WriteString("Message-ID: <" + messageID + ">\r\n")
	}
	b.WriteString(extra)
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

func b64url(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode base64url %q: %v", s, err)
	}
	return b
}

var members = []string{"alice@acme.test", "bob@acme.test", "carol@acme.test"}

func TestDeliver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		to   []string
		want int // copies
	}{
		{name: "GroupFanOut", to: members, want: 3},
		{name: "DuplicateRecipient", to: []string{"alice@acme.test", "ALICE@acme.test "}, want: 1},
		{name: "SingleRecipient", to: []string{"bob@acme.test"}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := MustStart(t, gmailsim.Options{}, members...)
			got := env.MustDeliver(t, mailText("first@example.org", "Help", "", "Please help.\r\n"), tc.to...)
			if len(got) != tc.want {
				t.Fatalf("copies=%d, want %d", len(got), tc.want)
			}
			seenMsg, seenThread := map[string]bool{}, map[string]bool{}
			for _, d := range got {
				if seenMsg[d.ID] || seenThread[d.ThreadID] {
					t.Errorf("ids of %s not distinct: %+v", d.Mailbox, got)
				}
				seenMsg[d.ID], seenThread[d.ThreadID] = true, true
				if len(d.ID) != 16 || strings.Trim(d.ID, "0123456789abcdef") != "" {
					t.Errorf("ID=%q, want 16 lower-case hex digits", d.ID)
				}
				m, err := env.MustClient(t, d.Mailbox).Users.Messages.Get("me", d.ID).Format("metadata").
					MetadataHeaders("Delivered-To").Do()
				if err != nil {
					t.Fatalf("get %s in %s: %v", d.ID, d.Mailbox, err)
				}
				if got, want := m.LabelIds, []string{"INBOX", "UNREAD"}; !cmp.Equal(got, want) {
					t.Errorf("LabelIds=%v, want %v", got, want)
				}
				if m.ThreadId != d.ThreadID {
					t.Errorf("ThreadId=%q, want %q", m.ThreadId, d.ThreadID)
				}
				wantHdr := []*gmail.MessagePartHeader{{Name: "Delivered-To", Value: d.Mailbox}}
				if diff := cmp.Diff(wantHdr, m.Payload.Headers); diff != "" {
					t.Errorf("headers (-want +got):\n%s", diff)
				}
			}
			if n := len(env.sim.MessagesOf("carol@acme.test")); n != boolInt(slices.Contains(tc.to, "carol@acme.test")) {
				t.Errorf("carol has %d messages", n)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DeliverAt dates a mail in the past: messages.list orders by that
// internalDate, not by the order of delivery; a time in the future is now.
func TestDeliverAt(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	future := time.Now().Add(time.Hour)
	newer, err := env.sim.DeliverAt(time.Time{}, []byte(mailText("a@example.org", "Newer", "", "x\r\n")), "alice@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	older, err := env.sim.DeliverAt(old, []byte(mailText("b@example.org", "Older", "", "x\r\n")), "alice@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := env.sim.DeliverAt(future, []byte(mailText("c@example.org", "Ahead", "", "x\r\n")), "alice@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	c := env.MustClient(t, "alice@acme.test")
	m, err := c.Users.Messages.Get("me", older[0].ID).Format("minimal").Do()
	if err != nil {
		t.Fatal(err)
	}
	if m.InternalDate != old.UnixMilli() {
		t.Errorf("internalDate = %d, want %d", m.InternalDate, old.UnixMilli())
	}
	a, err := c.Users.Messages.Get("me", ahead[0].ID).Format("minimal").Do()
	if err != nil {
		t.Fatal(err)
	}
	if a.InternalDate > time.Now().UnixMilli() {
		t.Errorf("a mail from the future got internalDate %d", a.InternalDate)
	}
	list, err := c.Users.Messages.List("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list.Messages {
		got = append(got, m.Id)
	}
	if want := []string{ahead[0].ID, newer[0].ID, older[0].ID}; !cmp.Equal(got, want) {
		t.Errorf("list order %v, want %v (newest first)", got, want)
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{MaxMessageBytes: 1000}, members...)
	tests := []struct {
		name string
		raw  string
		to   []string
		want error
	}{
		{name: "UnknownMailbox", raw: "Subject: x\r\n\r\nhi", to: []string{"alice@acme.test", "nobody@acme.test"}, want: gmailsim.ErrUnknownMailbox},
		{name: "TooLarge", raw: strings.Repeat("x", 1000), to: []string{"alice@acme.test"}, want: gmailsim.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := env.sim.Deliver([]byte(tc.raw), tc.to...); !errors.Is(err, tc.want) {
				t.Fatalf("err=%v, want %v", err, tc.want)
			}
			if n := len(env.sim.MessagesOf("alice@acme.test")); n != 0 {
				t.Errorf("alice has %d messages, want none (all or nothing)", n)
			}
		})
	}
}

func TestThreading(t *testing.T) {
	t.Parallel()
	root := mailText("root@example.org", "Order 42", "", "Where is my order?\r\n")
	tests := []struct {
		name       string
		reply      string
		wantJoined bool
	}{
		{name: "References", wantJoined: true,
			reply: mailText("r1@example.org", "Re: Order 42", "References: <older@example.org> <root@example.org>\r\n", "Any news?\r\n")},
		{name: "InReplyToOnly", wantJoined: true,
			reply: mailText("r1@example.org", "Re: Order 42", "In-Reply-To: <root@example.org>\r\n", "Any news?\r\n")},
		{name: "ReferencesCaseInsensitive", wantJoined: true,
			reply: mailText("r1@example.org", "Re: Order 42", "References:\r\n <ROOT@example.org>\r\n", "Any news?\r\n")},
		{name: "UnknownReference", wantJoined: false,
			reply: mailText("r1@example.org", "Re: Order 42", "References: <elsewhere@example.org>\r\n", "Any news?\r\n")},
		{name: "SameSubjectNoReference", wantJoined: false,
			reply: mailText("r1@example.org", "Order 42", "", "Again.\r\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := MustStart(t, gmailsim.Options{}, members...)
			first := env.MustDeliver(t, root, members...)
			second := env.MustDeliver(t, tc.reply, members...)
			for i, mb := range members {
				if joined := second[i].ThreadID == first[i].ThreadID; joined != tc.wantJoined {
					t.Errorf("%s: joined=%v, want %v", mb, joined, tc.wantJoined)
				}
				th, err := env.MustClient(t, mb).Users.Threads.Get("me", first[i].ThreadID).Format("minimal").Do()
				if err != nil {
					t.Fatalf("threads.get: %v", err)
				}
				want := []string{first[i].ID}
				if tc.wantJoined {
					want = append(want, second[i].ID)
				}
				var got []string
				for _, m := range th.Messages {
					got = append(got, m.Id)
				}
				if !cmp.Equal(got, want) {
					t.Errorf("%s: thread messages=%v, want %v", mb, got, want)
				}
			}
		})
	}
}

const multipartMail = "From: Customer <customer@example.org>\r\n" +
	"To: support@acme.test\r\n" +
	"Subject: =?UTF-8?B?R3LDvMOfZQ==?= with attachment\r\n" +
	"Message-ID: <mp@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hall=C3=B6chen, I don't know.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<p>Hall&ouml;chen</p>\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/pdf; name=\"invoice.pdf\"\r\n" +
	"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0x\r\nLjQK\r\n" +
	"--outer--\r\n" +
	"epilogue\r\n"

func TestGetMessage(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	d := env.MustDeliver(t, multipartMail, "alice@acme.test")[0]
	svc := env.MustClient(t, "alice@acme.test")
	stored := env.sim.MessagesOf("alice@acme.test")[0]

	tests := []struct {
		name    string
		format  string
		headers []string
		check   func(t *testing.T, m *gmail.Message)
	}{
		{name: "Minimal", format: "minimal", check: func(t *testing.T, m *gmail.Message) {
			if m.Payload != nil || m.Raw != "" {
				t.Errorf("Payload=%v Raw=%q, want neither", m.Payload, m.Raw)
			}
		}},
		{name: "MetadataAllHeaders", format: "metadata", check: func(t *testing.T, m *gmail.Message) {
			var names []string
			for _, h := range m.Payload.Headers {
				names = append(names, h.Name)
			}
			want := []string{"Delivered-To", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"}
			if !cmp.Equal(names, want) {
				t.Errorf("header names=%v, want %v", names, want)
			}
			if m.Payload.Parts != nil || m.Payload.Body != nil {
				t.Errorf("metadata payload has body or parts")
			}
		}},
		{name: "MetadataFiltered", format: "metadata", headers: []string{"message-id", "SUBJECT", "X-Missing"},
			check: func(t *testing.T, m *gmail.Message) {
				want := []*gmail.MessagePartHeader{
					{Name: "Subject", Value: "Grüße with attachment"},
					{Name: "Message-ID", Value: "<mp@example.org>"},
				}
				if diff := cmp.Diff(want, m.Payload.Headers); diff != "" {
					t.Errorf("headers (-want +got):\n%s", diff)
				}
			}},
		{name: "Full", format: "full", check: func(t *testing.T, m *gmail.Message) {
			p := m.Payload
			if p.MimeType != "multipart/mixed" || len(p.Parts) != 2 {
				t.Fatalf("payload %s with %d parts, want multipart/mixed with 2", p.MimeType, len(p.Parts))
			}
			alt, att := p.Parts[0], p.Parts[1]
			if alt.PartId != "0" || alt.MimeType != "multipart/alternative" || len(alt.Parts) != 2 {
				t.Fatalf("part 0: %s %s with %d parts", alt.PartId, alt.MimeType, len(alt.Parts))
			}
			text := alt.Parts[0]
			if text.PartId != "0.0" || text.MimeType != "text/plain" {
				t.Errorf("part 0.0: %s %s", text.PartId, text.MimeType)
			}
			if got, want := string(b64url(t, text.Body.Data)), "Hallöchen, I don't know."; got != want {
				t.Errorf("text=%q, want %q", got, want)
			}
			if text.Body.Size != int64(len("Hallöchen, I don't know.")) {
				t.Errorf("text size=%d", text.Body.Size)
			}
			if att.PartId != "1" || att.Filename != "invoice.pdf" || att.MimeType != "application/pdf" {
				t.Errorf("attachment: %s %q %s", att.PartId, att.Filename, att.MimeType)
			}
			if got := string(b64url(t, att.Body.Data)); got != "%PDF-1.4\n" {
				t.Errorf("attachment data=%q", got)
			}
		}},
		{name: "Raw", format: "raw", check: func(t *testing.T, m *gmail.Message) {
			if got := b64url(t, m.Raw); !bytes.Equal(got, stored.Raw) {
				t.Errorf("raw differs from stored message")
			}
			if m.Payload != nil {
				t.Errorf("raw format has a payload")
			}
		}},
		{name: "DefaultIsFull", format: "", check: func(t *testing.T, m *gmail.Message) {
			if m.Payload == nil || len(m.Payload.Parts) != 2 {
				t.Errorf("default format is not full")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			call := svc.Users.Messages.Get("me", d.ID)
			if tc.format != "" {
				call = call.Format(tc.format)
			}
			if tc.headers != nil {
				call = call.MetadataHeaders(tc.headers...)
			}
			m, err := call.Do()
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if m.Id != d.ID || m.ThreadId != d.ThreadID {
				t.Errorf("Id/ThreadId=%s/%s, want %s/%s", m.Id, m.ThreadId, d.ID, d.ThreadID)
			}
			if m.HistoryId == 0 || m.HistoryId != stored.HistoryID {
				t.Errorf("HistoryId=%d, want %d", m.HistoryId, stored.HistoryID)
			}
			if m.InternalDate != stored.InternalDate.UnixMilli() || m.InternalDate == 0 {
				t.Errorf("InternalDate=%d, want %d", m.InternalDate, stored.InternalDate.UnixMilli())
			}
			if m.SizeEstimate != int64(len(stored.Raw)) {
				t.Errorf("SizeEstimate=%d, want %d", m.SizeEstimate, len(stored.Raw))
			}
			if want := "Hallöchen, I don&#39;t know."; m.Snippet != want {
				t.Errorf("Snippet=%q, want %q", m.Snippet, want)
			}
			tc.check(t, m)
		})
	}
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	const mb = "alice@acme.test"
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	env := MustStart(t, gmailsim.Options{Now: steppingClock(start, time.Minute)}, mb)
	var ids []string // oldest first
	for i := range 5 {
		d := env.MustDeliver(t, mailText(fmt.Sprintf("Msg-%d@Example.org", i), fmt.Sprintf("Ticket %d", i), "", "body\r\n"), mb)
		ids = append(ids, d[0].ID)
	}
	sent, err := env.sim.Insert(mb, []byte("From: alice@acme.test\r\nTo: customer@example.org\r\nSubject: Our answer\r\nMessage-ID: <sent@acme.test>\r\n\r\nHere."),
		[]string{"SENT"}, start.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	trashed, err := env.sim.Insert(mb, []byte("Subject: Ticket trash\r\n\r\n"), []string{"TRASH"}, time.Time{})
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	svc := env.MustClient(t, mb)

	tests := []struct {
		name     string
		q        string
		labelIDs []string
		spam     bool
		want     []string
	}{
		{name: "All", want: append(slices.Clone(newestFirst), sent.ID)},
		{name: "RFC822MsgIDBrackets", q: "rfc822msgid:<Msg-2@Example.org>", want: []string{ids[2]}},
		{name: "RFC822MsgIDBare", q: "rfc822msgid:Msg-2@Example.org", want: []string{ids[2]}},
		{name: "RFC822MsgIDOtherCase", q: "rfc822msgid:msg-2@example.ORG", want: []string{ids[2]}},
		{name: "RFC822MsgIDUnknown", q: "rfc822msgid:nope@example.org", want: nil},
		{name: "LabelIDsInbox", labelIDs: []string{"INBOX"}, want: newestFirst},
		{name: "LabelIDsSent", labelIDs: []string{"SENT"}, want: []string{sent.ID}},
		{name: "LabelIDsAllMustMatch", labelIDs: []string{"SENT", "INBOX"}, want: nil},
		{name: "LabelIDsTrash", labelIDs: []string{"TRASH"}, want: []string{trashed.ID}},
		{name: "InInbox", q: "in:inbox", want: newestFirst},
		{name: "LabelSent", q: "label:sent", want: []string{sent.ID}},
		{name: "NotInInbox", q: "-in:inbox", want: []string{sent.ID}},
		{name: "InAnywhere", q: "in:anywhere", want: append(append([]string{trashed.ID}, newestFirst...), sent.ID)},
		{name: "IncludeSpamTrash", spam: true, want: append(append([]string{trashed.ID}, newestFirst...), sent.ID)},
		{name: "IsUnread", q: "is:unread", want: newestFirst},
		{name: "From", q: "from:customer@example.org", want: newestFirst},
		{name: "FromName", q: "from:alice", want: []string{sent.ID}},
		{name: "To", q: "to:customer@example.org", want: []string{sent.ID}},
		{name: "SubjectOperator", q: "subject:ticket", want: newestFirst},
		{name: "BareWords", q: "Ticket 3", want: []string{ids[3]}},
		{name: "Phrase", q: `"our answer"`, want: []string{sent.ID}},
		{name: "Combined", q: "in:inbox subject:ticket -rfc822msgid:msg-0@example.org", want: newestFirst[:4]},
		{name: "Before", q: "before:2025/06/01", want: []string{sent.ID}},
		{name: "NewerThan", q: "newer_than:1d", want: newestFirst},
		{name: "UnknownLabel", q: "label:nothing-here", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			call := svc.Users.Messages.List("me").Q(tc.q).LabelIds(tc.labelIDs...)
			if tc.spam {
				call = call.IncludeSpamTrash(true)
			}
			resp, err := call.Do()
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var got []string
			for _, m := range resp.Messages {
				got = append(got, m.Id)
				if m.ThreadId == "" {
					t.Errorf("message %s without threadId", m.Id)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if resp.ResultSizeEstimate != int64(len(tc.want)) {
				t.Errorf("ResultSizeEstimate=%d, want %d", resp.ResultSizeEstimate, len(tc.want))
			}
			if resp.NextPageToken != "" {
				t.Errorf("NextPageToken=%q on a single page", resp.NextPageToken)
			}
		})
	}

	t.Run("Paging", func(t *testing.T) {
		t.Parallel()
		var got []string
		pages := 0
		err := svc.Users.Messages.List("me").LabelIds("INBOX").MaxResults(2).Pages(context.Background(),
			func(r *gmail.ListMessagesResponse) error {
				pages++
				if len(r.Messages) > 2 {
					t.Errorf("page of %d messages, want at most 2", len(r.Messages))
				}
				for _, m := range r.Messages {
					got = append(got, m.Id)
				}
				return nil
			})
		if err != nil {
			t.Fatalf("pages: %v", err)
		}
		if diff := cmp.Diff(newestFirst, got); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		if pages != 3 {
			t.Errorf("pages=%d, want 3", pages)
		}
	})
}

// steppingClock returns a clock that advances by step on every reading.
func steppingClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

func TestListMessagesPagingUnderNewMail(t *testing.T) {
	t.Parallel()
	const mb = "alice@acme.test"
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	env := MustStart(t, gmailsim.Options{Now: steppingClock(start, time.Minute)}, mb)
	var newestFirst []string
	for i := range 5 {
		d := env.MustDeliver(t, mailText(fmt.Sprintf("%d@x", i), fmt.Sprintf("Ticket %d", i), "", "b"), mb)
		newestFirst = slices.Insert(newestFirst, 0, d[0].ID)
	}
	svc := env.MustClient(t, mb)
	first, err := svc.Users.Messages.List("me").MaxResults(2).Do()
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	// Mail arriving between pages must not shift the next page.
	env.MustDeliver(t, mailText("late@x", "Late", "", "b"), mb)
	second, err := svc.Users.Messages.List("me").MaxResults(2).PageToken(first.NextPageToken).Do()
	if err != nil {
		t.Fatalf("list page 2: %v", err)
	}
	var got []string
	for _, m := range append(first.Messages, second.Messages...) {
		got = append(got, m.Id)
	}
	if diff := cmp.Diff(newestFirst[:4], got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestListMessagesInvalid(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	tests := []struct {
		name string
		call *gmail.UsersMessagesListCall
	}{
		{name: "UnknownOperator", call: svc.Users.Messages.List("me").Q("has:attachment")},
		{name: "UnquotedColonWord", call: svc.Users.Messages.List("me").Q("re: hello")},
		{name: "OR", call: svc.Users.Messages.List("me").Q("from:a OR from:b")},
		{name: "Grouping", call: svc.Users.Messages.List("me").Q("subject:(a b)")},
		{name: "UnknownIs", call: svc.Users.Messages.List("me").Q("is:snoozed")},
		{name: "BadDate", call: svc.Users.Messages.List("me").Q("after:yesterday")},
		{name: "UnterminatedQuote", call: svc.Users.Messages.List("me").Q(`"open`)},
		{name: "UnknownLabelID", call: svc.Users.Messages.List("me").LabelIds("Label_404")},
		{name: "BadPageToken", call: svc.Users.Messages.List("me").PageToken("!!!")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.call.Do()
			assertAPIError(t, err, http.StatusBadRequest, "invalidArgument")
		})
	}
}

func TestInsert(t *testing.T) {
	t.Parallel()
	const mb = "alice@acme.test"
	tests := []struct {
		name   string
		insert func(svc *gmail.Service, raw string) (*gmail.Message, error)
		raw    string
		labels []string
	}{
		{name: "MediaMultipart", raw: mailText("m1@example.org", "Sent copy", "", "Hi.\r\n"), labels: []string{"SENT"},
			insert: func(svc *gmail.Service, raw string) (*gmail.Message, error) {
				return svc.Users.Messages.Insert("me", &gmail.Message{LabelIds: []string{"SENT"}}).
					Media(strings.NewReader(raw)).Do()
			}},
		{name: "JSONRaw", raw: mailText("m2@example.org", "Seeded", "", "Hi.\r\n"), labels: []string{"INBOX"},
			insert: func(svc *gmail.Service, raw string) (*gmail.Message, error) {
				return svc.Users.Messages.Insert("me", &gmail.Message{
					Raw:      base64.URLEncoding.EncodeToString([]byte(raw)),
					LabelIds: []string{"INBOX"},
				}).Do()
			}},
		{name: "JSONRawUnpaddedNoLabels", raw: mailText("m3@example.org", "Archived", "", "Hi?\r\n"),
			insert: func(svc *gmail.Service, raw string) (*gmail.Message, error) {
				return svc.Users.Messages.Insert("me", &gmail.Message{
					Raw: base64.RawURLEncoding.EncodeToString([]byte(raw)),
				}).Do()
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := MustStart(t, gmailsim.Options{}, mb)
			svc := env.MustClient(t, mb)
			got, err := tc.insert(svc, tc.raw)
			if err != nil {
				t.Fatalf("insert: %v", err)
			}
			if got.Id == "" || got.ThreadId != got.Id {
				t.Errorf("Id=%q ThreadId=%q, want a new thread named after the message", got.Id, got.ThreadId)
			}
			if !cmp.Equal(got.LabelIds, tc.labels) {
				t.Errorf("LabelIds=%v, want %v", got.LabelIds, tc.labels)
			}
			m, err := svc.Users.Messages.Get("me", got.Id).Format("raw").Do()
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if string(b64url(t, m.Raw)) != tc.raw {
				t.Errorf("stored raw differs from inserted raw")
			}
		})
	}
}

// TestInsertResumable checks that a big Media upload really goes through the
// resumable protocol in several chunks and arrives intact.
func TestInsertResumable(t *testing.T) {
	t.Parallel()
	const mb = "alice@acme.test"
	sim := gmailsim.New(gmailsim.Options{Authenticate: authenticate})
	sim.AddMailbox(mb)
	var mu sync.Mutex
	chunks := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("upload_id") != "" {
			mu.Lock()
			chunks++
			mu.Unlock()
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	env := &testEnv{sim: sim, url: srv.URL}

	raw := mailText("big@example.org", "Big", "", strings.Repeat("0123456789abcdef\r\n", 40000)) // ~720 KB
	got, err := env.MustClient(t, mb).Users.Messages.Insert("me", &gmail.Message{LabelIds: []string{"INBOX"}}).
		Media(strings.NewReader(raw), googleapi.ChunkSize(256<<10)).Do()
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if chunks != 3 {
		t.Errorf("chunk requests=%d, want 3", chunks)
	}
	m, ok := sim.FindByMessageID(mb, "big@example.org")
	if !ok || m.ID != got.Id || string(m.Raw) != raw || !cmp.Equal(m.LabelIDs, []string{"INBOX"}) {
		t.Errorf("stored message %s (found %v) differs from the upload", m.ID, ok)
	}
}

func TestInsertThreadAndDate(t *testing.T) {
	t.Parallel()
	const mb = "alice@acme.test"
	env := MustStart(t, gmailsim.Options{}, mb)
	svc := env.MustClient(t, mb)
	root := env.MustDeliver(t, mailText("root@example.org", "Hello", "", "Hi\r\n"), mb)[0]

	reply := mailText("reply@acme.test", "Re: Hello", "In-Reply-To: <root@example.org>\r\nReferences: <root@example.org>\r\n", "Answer\r\n")
	got, err := svc.Users.Messages.Insert("me", &gmail.Message{
		Raw: base64.URLEncoding.EncodeToString([]byte(reply)), LabelIds: []string{"SENT"}, ThreadId: root.ThreadID,
	}).InternalDateSource("dateHeader").Do()
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if got.ThreadId != root.ThreadID {
		t.Errorf("ThreadId=%s, want %s", got.ThreadId, root.ThreadID)
	}
	m, err := svc.Users.Messages.Get("me", got.Id).Format("minimal").Do()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if want := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC).UnixMilli(); m.InternalDate != want {
		t.Errorf("InternalDate=%d, want %d (Date header)", m.InternalDate, want)
	}

	// A requested thread the message does not refer to is not joined, as in
	// Gmail, which needs References as well as the threadId.
	other := mailText("other@acme.test", "Unrelated", "", "x\r\n")
	got2, err := svc.Users.Messages.Insert("me", &gmail.Message{
		Raw: base64.URLEncoding.EncodeToString([]byte(other)), ThreadId: root.ThreadID,
	}).Do()
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if got2.ThreadId == root.ThreadID {
		t.Errorf("unrelated message joined the requested thread")
	}

	th, err := svc.Users.Threads.Get("me", root.ThreadID).Format("metadata").MetadataHeaders("Message-ID").Do()
	if err != nil {
		t.Fatalf("threads.get: %v", err)
	}
	if th.Id != root.ThreadID || len(th.Messages) != 2 {
		t.Fatalf("thread %s with %d messages, want %s with 2", th.Id, len(th.Messages), root.ThreadID)
	}
	// Oldest first: the reply's internalDate (from its Date header) is older
	// than the delivery time of the root, so it comes first.
	var mids []string
	for _, m := range th.Messages {
		mids = append(mids, m.Payload.Headers[0].Value)
	}
	if want := []string{"<reply@acme.test>", "<root@example.org>"}; !cmp.Equal(mids, want) {
		t.Errorf("thread Message-IDs=%v, want %v", mids, want)
	}
	if want := max(th.Messages[0].HistoryId, th.Messages[1].HistoryId); th.HistoryId != want {
		t.Errorf("thread HistoryId=%d, want %d", th.HistoryId, want)
	}
}

func TestInsertInvalid(t *testing.T) {
	t.Parallel()
	const mb = "alice@acme.test"
	env := MustStart(t, gmailsim.Options{MaxMessageBytes: 4096}, mb)
	svc := env.MustClient(t, mb)
	raw := base64.URLEncoding.EncodeToString([]byte("Subject: x\r\n\r\nbody"))
	tests := []struct {
		name   string
		do     func() error
		code   int
		reason string
	}{
		{name: "UnknownLabel", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: raw, LabelIds: []string{"Label_1"}}).Do()
			return err
		}},
		{name: "MissingRaw", code: 400, reason: "badRequest", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{}).Do()
			return err
		}},
		{name: "NotBase64", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: "***"}).Do()
			return err
		}},
		{name: "UnknownThread", code: 404, reason: "notFound", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: raw, ThreadId: "18c0000000000000"}).Do()
			return err
		}},
		{name: "MalformedThread", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: raw, ThreadId: "not-an-id"}).Do()
			return err
		}},
		{name: "TooLargeJSON", code: 413, reason: "uploadTooLarge", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{
				Raw: base64.URLEncoding.EncodeToString(bytes.Repeat([]byte("x"), 5000))}).Do()
			return err
		}},
		{name: "TooLargeMedia", code: 413, reason: "uploadTooLarge", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{}).Media(strings.NewReader(strings.Repeat("x", 5000))).Do()
			return err
		}},
		{name: "BadInternalDateSource", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: raw}).InternalDateSource("tomorrow").Do()
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertAPIError(t, tc.do(), tc.code, tc.reason)
		})
	}
}

func TestProfile(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	before, err := svc.Users.GetProfile("me").Do()
	if err != nil {
		t.Fatalf("getProfile: %v", err)
	}
	if before.EmailAddress != "alice@acme.test" || before.MessagesTotal != 0 || before.HistoryId == 0 {
		t.Errorf("empty profile=%+v", before)
	}
	env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")
	env.MustDeliver(t, mailText("b@x", "Re: A", "References: <a@x>\r\n", "b"), "alice@acme.test")
	env.MustDeliver(t, mailText("c@x", "C", "", "c"), "alice@acme.test")
	after, err := svc.Users.GetProfile("alice@acme.test").Do()
	if err != nil {
		t.Fatalf("getProfile: %v", err)
	}
	if after.MessagesTotal != 3 || after.ThreadsTotal != 2 {
		t.Errorf("MessagesTotal=%d ThreadsTotal=%d, want 3 and 2", after.MessagesTotal, after.ThreadsTotal)
	}
	if after.HistoryId <= before.HistoryId+2 {
		// three changes with gaps of at least one each
		t.Errorf("HistoryId %d → %d, want it to grow by at least 3", before.HistoryId, after.HistoryId)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test", "bob@acme.test")
	d := env.MustDeliver(t, mailText("x@example.org", "X", "", "x"), "alice@acme.test")[0]
	alice := env.MustClient(t, "alice@acme.test")
	tests := []struct {
		name   string
		do     func() error
		code   int
		reason string
	}{
		{name: "NoToken", code: 401, reason: "authError", do: func() error {
			_, err := env.MustService(t, "").Users.GetProfile("me").Do()
			return err
		}},
		{name: "BadToken", code: 401, reason: "authError", do: func() error {
			_, err := env.MustService(t, "garbage").Users.Messages.Get("me", d.ID).Do()
			return err
		}},
		{name: "OtherUser", code: 403, reason: "forbidden", do: func() error {
			_, err := alice.Users.Messages.Get("bob@acme.test", d.ID).Do()
			return err
		}},
		{name: "OtherUsersMessage", code: 404, reason: "notFound", do: func() error {
			_, err := env.MustClient(t, "bob@acme.test").Users.Messages.Get("me", d.ID).Do()
			return err
		}},
		{name: "UnknownMessage", code: 404, reason: "notFound", do: func() error {
			_, err := alice.Users.Messages.Get("me", "18c0000000000000").Do()
			return err
		}},
		{name: "UnknownThread", code: 404, reason: "notFound", do: func() error {
			_, err := alice.Users.Threads.Get("me", "18c0000000000000").Do()
			return err
		}},
		{name: "MalformedID", code: 400, reason: "invalidArgument", do: func() error {
			_, err := alice.Users.Messages.Get("me", "XYZ").Do()
			return err
		}},
		{name: "BadFormat", code: 400, reason: "invalidArgument", do: func() error {
			_, err := alice.Users.Messages.Get("me", d.ID).Format("pretty").Do()
			return err
		}},
		{name: "ThreadRawFormat", code: 400, reason: "invalidArgument", do: func() error {
			_, err := alice.Users.Threads.Get("me", d.ThreadID).Format("raw").Do()
			return err
		}},
		{name: "NoMailbox", code: 400, reason: "failedPrecondition", do: func() error {
			_, err := env.MustClient(t, "nobody@acme.test").Users.GetProfile("me").Do()
			return err
		}},
		{name: "Unimplemented", code: 404, reason: "notFound", do: func() error {
			_, err := alice.Users.Threads.List("me").Do()
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gerr := assertAPIError(t, tc.do(), tc.code, tc.reason)
			if tc.code == 401 && !strings.HasPrefix(gerr.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate=%q, want a Bearer challenge", gerr.Header.Get("WWW-Authenticate"))
			}
			if tc.code == 403 && gerr.Message != "Delegation denied for bob@acme.test" {
				t.Errorf("Message=%q", gerr.Message)
			}
		})
	}
}

// TestErrorShape pins the JSON of an error, independent of the client.
func TestErrorShape(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	req, _ := http.NewRequest(http.MethodGet, env.url+"/gmail/v1/users/me/messages/18c0000000000000", nil)
	req.Header.Set("Authorization", "Bearer token-alice@acme.test")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	want := `{"error":{"code":404,"message":"Requested entity was not found.","errors":[{"message":"Requested entity was not found.","domain":"global","reason":"notFound"}],"status":"NOT_FOUND"}}`
	if got := buf.String(); got != want {
		t.Errorf("body=%s\nwant %s", got, want)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type=%q", ct)
	}
}

func TestGarbageMail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		raw         string
		wantSubject string
	}{
		{name: "Empty", raw: ""},
		{name: "NoHeaders", raw: "just some text\r\nand more\r\n"},
		{name: "NoBlankLine", raw: "Subject: only headers", wantSubject: "only headers"},
		{name: "BrokenHeaderLine", raw: "Subject: kept\r\nthis is not a header\r\nFrom: x\r\n\r\nbody", wantSubject: "kept"},
		// Deliver prepends Delivered-To, which the stray continuation extends.
		{name: "ContinuationFirst", raw: " folded\r\nSubject: x\r\n\r\nbody", wantSubject: "x"},
		{name: "EightBitJunk", raw: "Subject: caf\xe9 \xff\xfe\r\nFrom: \x80\x81 <a@b>\r\nMessage-ID: <\xff@x>\r\n\r\n\x00\x01\xff\xfe body", wantSubject: "caf\ufffd \ufffd"},
		{name: "BadEncodedWord", raw: "Subject: =?x-unknown?Q?abc?= =?UTF-8?B?!!!?=\r\n\r\nbody", wantSubject: "=?x-unknown?Q?abc?= =?UTF-8?B?!!!?="},
		{name: "MultipartNoBoundary", raw: "Content-Type: multipart/mixed\r\n\r\nbody"},
		{name: "MultipartBoundaryNeverSeen", raw: "Content-Type: multipart/mixed; boundary=zz\r\n\r\nbody"},
		{name: "MultipartUnclosed", raw: "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhello"},
		{name: "BadContentType", raw: "Content-Type: ;;;===\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!"},
		{name: "BrokenQuotedPrintable", raw: "Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=4=\r\n=41"},
		{name: "DeepNesting", raw: strings.Repeat("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n", 200)},
		{name: "HugeHeaderCount", raw: strings.Repeat("X-A: 1\r\n", 5000) + "\r\nbody"},
		{name: "MessageIDJunk", raw: "Message-ID: <<>> <a b>\r\nReferences: <<<\r\nIn-Reply-To: >\r\n\r\n"},
		{name: "HTMLOnlyWithScript", raw: "Content-Type: text/html\r\n\r\n<script>x<y</script><p>Hi &amp; bye"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
			d := env.MustDeliver(t, tc.raw, "alice@acme.test")[0]
			svc := env.MustClient(t, "alice@acme.test")
			for _, format := range []string{"minimal", "metadata", "full", "raw"} {
				m, err := svc.Users.Messages.Get("me", d.ID).Format(format).Do()
				if err != nil {
					t.Fatalf("get %s: %v", format, err)
				}
				if format == "raw" && !strings.HasSuffix(string(b64url(t, m.Raw)), tc.raw) {
					t.Errorf("raw does not end with the delivered bytes")
				}
			}
			if _, err := svc.Users.Threads.Get("me", d.ThreadID).Do(); err != nil {
				t.Fatalf("threads.get: %v", err)
			}
			if _, err := svc.Users.Messages.List("me").Q("subject:x from:y").Do(); err != nil {
				t.Fatalf("list: %v", err)
			}
			if got := env.sim.MessagesOf("alice@acme.test")[0].Subject; got != tc.wantSubject {
				t.Errorf("Subject=%q, want %q", got, tc.wantSubject)
			}
		})
	}
}

func TestFindByMessageID(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	d := env.MustDeliver(t, mailText("Find.Me@example.org", "X", "", "x"), "alice@acme.test")[0]
	tests := []struct {
		name   string
		mb, id string
		found  bool
	}{
		{name: "Brackets", mb: "alice@acme.test", id: "<Find.Me@example.org>", found: true},
		{name: "BareOtherCase", mb: "ALICE@acme.test", id: "find.me@EXAMPLE.org", found: true},
		{name: "Unknown", mb: "alice@acme.test", id: "nope@example.org"},
		{name: "Empty", mb: "alice@acme.test", id: "<>"},
		{name: "UnknownMailbox", mb: "bob@acme.test", id: "find.me@example.org"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, ok := env.sim.FindByMessageID(tc.mb, tc.id)
			if ok != tc.found {
				t.Fatalf("found=%v, want %v", ok, tc.found)
			}
			if ok && (m.ID != d.ID || m.MessageID != "Find.Me@example.org" || m.Mailbox != "alice@acme.test") {
				t.Errorf("got %+v", m)
			}
		})
	}
}

// TestConcurrentUse runs deliveries and reads in parallel; run with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, members...)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				ref := ""
				if j > 0 {
					ref = fmt.Sprintf("References: <%d-%d@x>\r\n", i, j-1)
				}
				if _, err := env.sim.Deliver([]byte(mailText(fmt.Sprintf("%d-%d@x", i, j), "S", ref, "b")), members...); err != nil {
					t.Errorf("Deliver: %v", err)
				}
			}
		})
		wg.Go(func() {
			svc := env.MustClient(t, members[i%len(members)])
			for range 10 {
				resp, err := svc.Users.Messages.List("me").Do()
				if err != nil {
					t.Errorf("list: %v", err)
					return
				}
				for _, m := range resp.Messages[:min(3, len(resp.Messages))] {
					if _, err := svc.Users.Threads.Get("me", m.ThreadId).Do(); err != nil {
						t.Errorf("threads.get: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, mb := range members {
		msgs := env.sim.MessagesOf(mb)
		if len(msgs) != 80 {
			t.Errorf("%s has %d messages, want 80", mb, len(msgs))
		}
		threads := map[string]int{}
		ids := map[string]bool{}
		for _, m := range msgs {
			threads[m.ThreadID]++
			if ids[m.ID] {
				t.Errorf("duplicate id %s", m.ID)
			}
			ids[m.ID] = true
		}
		if len(threads) != 8 {
			t.Errorf("%s has %d threads, want 8", mb, len(threads))
		}
	}
}
