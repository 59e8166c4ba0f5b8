package gmailsim_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

// draftMsg is a Draft resource carrying raw.
func draftMsg(raw, threadID string) *gmail.Draft {
	return &gmail.Draft{Message: &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte(raw)), ThreadId: threadID}}
}

// mustCreateDraft creates a draft through the API.
func mustCreateDraft(tb testing.TB, svc *gmail.Service, raw, threadID string) *gmail.Draft {
	tb.Helper()
	d, err := svc.Users.Drafts.Create("me", draftMsg(raw, threadID)).Do()
	if err != nil {
		tb.Fatalf("drafts.create: %v", err)
	}
	return d
}

// header returns the first value of the named header of a message
// fetched in the metadata or full format.
func header(m *gmail.Message, name string) string {
	for _, h := range m.Payload.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// replyText is bob's reply to the customer mail <c1@customer.example>.
func replyText(from, body string) string {
	return "From: " + from + "\r\nTo: nora@customer.example\r\nCc: support@acme.test\r\nSubject: Re: Help\r\n" +
		"In-Reply-To: <c1@customer.example>\r\nReferences: <c1@customer.example>\r\n\r\n" + body + "\r\n"
}

// draftFixture: the group support@acme.test routes to alice, bob and carol;
// the customer's mail <c1@customer.example> is in every member's mailbox.
type draftFixture struct {
	env    *testEnv
	bob    *gmail.Service
	thread string // the customer mail's thread in bob's mailbox
}

func newDraftFixture(t *testing.T) *draftFixture {
	t.Helper()
	env := MustStart(t, gmailsim.Options{Route: func(a string) []string {
		if a == "support@acme.test" {
			return members
		}
		return []string{a}
	}}, append(slices.Clone(members), "nora@customer.example")...)
	var thread string
	for _, d := range env.MustDeliver(t, "From: Nora <nora@customer.example>\r\nTo: support@acme.test\r\nSubject: Help\r\nMessage-ID: <c1@customer.example>\r\n\r\nBroken.\r\n", members...) {
		if d.Mailbox == "bob@acme.test" {
			thread = d.ThreadID
		}
	}
	return &draftFixture{env: env, bob: env.MustClient(t, "bob@acme.test"), thread: thread}
}

// TestDraftLifecycle walks create, get in every format, list, update and
// delete through the client.
func TestDraftLifecycle(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	raw := replyText("Bob <bob@acme.test>", "First try.")
	d := mustCreateDraft(t, f.bob, raw, f.thread)
	if !strings.HasPrefix(d.Id, "r") || d.Message.Id == "" || !slices.Equal(d.Message.LabelIds, []string{"DRAFT"}) {
		t.Fatalf("created %+v %+v, want an r… id and a message labelled [DRAFT]", d, d.Message)
	}

	for _, format := range []string{"minimal", "metadata", "full", "raw"} {
		got, err := f.bob.Users.Drafts.Get("me", d.Id).Format(format).Do()
		if err != nil {
			t.Fatalf("drafts.get %s: %v", format, err)
		}
		m := got.Message
		if got.Id != d.Id || m.Id != d.Message.Id || m.ThreadId != f.thread || !slices.Equal(m.LabelIds, []string{"DRAFT"}) {
			t.Errorf("%s: draft %s message %s thread %s labels %v", format, got.Id, m.Id, m.ThreadId, m.LabelIds)
		}
		switch format {
		case "minimal":
			if m.Payload != nil || m.Raw != "" {
				t.Errorf("minimal carries payload or raw")
			}
		case "metadata", "full":
			if header(m, "Subject") != "Re: Help" {
				t.Errorf("%s: Subject %q", format, header(m, "Subject"))
			}
		case "raw":
			if string(b64url(t, m.Raw)) != raw {
				t.Errorf("raw %q, want the draft as created", b64url(t, m.Raw))
			}
		}
	}

	// A second draft, not a reply; list is newest first and pages.
	other := mustCreateDraft(t, f.bob, "To: nora@customer.example\r\nSubject: Unrelated\r\n\r\nx\r\n", "")
	var listed []string
	err := f.bob.Users.Drafts.List("me").MaxResults(1).Pages(context.Background(), func(r *gmail.ListDraftsResponse) error {
		if len(r.Drafts) != 1 {
			t.Errorf("page of %d drafts, want 1", len(r.Drafts))
		}
		for _, x := range r.Drafts {
			listed = append(listed, x.Id+"/"+x.Message.Id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{other.Id + "/" + other.Message.Id, d.Id + "/" + d.Message.Id}; !slices.Equal(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	q, err := f.bob.Users.Drafts.List("me").Q("subject:unrelated").Do()
	if err != nil || len(q.Drafts) != 1 || q.Drafts[0].Id != other.Id {
		t.Errorf("q=subject:unrelated: %+v, %v", q, err)
	}
	// A draft's message is a message too, labelled DRAFT.
	msgs, err := f.bob.Users.Messages.List("me").LabelIds("DRAFT").Do()
	if err != nil || len(msgs.Messages) != 2 {
		t.Errorf("messages.list DRAFT: %+v, %v", msgs, err)
	}

	// Update: same draft id, new message id; the old message is gone.
	up, err := f.bob.Users.Drafts.Update("me", d.Id, draftMsg(replyText("Bob <bob@acme.test>", "Second try."), f.thread)).Do()
	if err != nil {
		t.Fatal(err)
	}
	if up.Id != d.Id || up.Message.Id == d.Message.Id || up.Message.ThreadId != f.thread {
		t.Errorf("updated %s message %s thread %s; want draft %s with a new message in %s", up.Id, up.Message.Id, up.Message.ThreadId, d.Id, f.thread)
	}
	_, err = f.bob.Users.Messages.Get("me", d.Message.Id).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")
	got, err := f.bob.Users.Drafts.Get("me", d.Id).Format("raw").Do()
	if err != nil || !strings.Contains(string(b64url(t, got.Message.Raw)), "Second try.") {
		t.Errorf("after update: %v", err)
	}

	// Delete: gone, with its message.
	if err := f.bob.Users.Drafts.Delete("me", d.Id).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = f.bob.Users.Drafts.Get("me", d.Id).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")
	_, err = f.bob.Users.Messages.Get("me", up.Message.Id).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")
	if ds := f.env.sim.DraftsOf("bob@acme.test"); len(ds) != 1 || ds[0].ID != other.Id {
		t.Errorf("DraftsOf = %+v, want only %s", ds, other.Id)
	}
}

// TestDraftMedia: Create and Update with Media(r), which the client sends
// to the upload path as multipart/related.
func TestDraftMedia(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	meta := &gmail.Draft{Message: &gmail.Message{ThreadId: f.thread}}
	d, err := f.bob.Users.Drafts.Create("me", meta).Media(strings.NewReader(replyText("bob@acme.test", "Via upload."))).Do()
	if err != nil {
		t.Fatal(err)
	}
	if d.Message.ThreadId != f.thread {
		t.Errorf("uploaded draft in thread %s, want %s", d.Message.ThreadId, f.thread)
	}
	up, err := f.bob.Users.Drafts.Update("me", d.Id, meta).Media(strings.NewReader(replyText("bob@acme.test", "Again."))).Do()
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.bob.Users.Drafts.Get("me", d.Id).Format("raw").Do()
	if err != nil || up.Id != d.Id || !strings.Contains(string(b64url(t, got.Message.Raw)), "Again.") {
		t.Errorf("update by upload: %+v %v", up, err)
	}
}

// TestDraftThreading: a reply draft joins the thread it names when its
// References name a message of it, and threads.get shows it; without
// references it starts its own thread (the insert rule); an unknown thread
// is 404.
func TestDraftThreading(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	d := mustCreateDraft(t, f.bob, replyText("bob@acme.test", "On it."), f.thread)
	th, err := f.bob.Users.Threads.Get("me", f.thread).Format("minimal").Do()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, m := range th.Messages {
		got = append(got, append([]string{m.Id}, m.LabelIds...))
	}
	if len(got) != 2 || got[1][0] != d.Message.Id || !slices.Equal(got[1][1:], []string{"DRAFT"}) {
		t.Errorf("thread messages %v, want the customer mail then the draft labelled DRAFT", got)
	}

	loose := mustCreateDraft(t, f.bob, "To: nora@customer.example\r\nSubject: Re: Help\r\n\r\nx\r\n", f.thread)
	if loose.Message.ThreadId == f.thread || loose.Message.ThreadId != loose.Message.Id {
		t.Errorf("draft without references in thread %s, want its own", loose.Message.ThreadId)
	}

	_, err = f.bob.Users.Drafts.Create("me", draftMsg(replyText("bob@acme.test", "x"), "00000000000000ff")).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")
}

// TestDraftSend: drafts.send sends as messages.send does (SENT copy in the
// sender's thread, one copy per group member, none back to the sender),
// the draft disappears, and sending it again is 404.
func TestDraftSend(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	d := mustCreateDraft(t, f.bob, replyText("Bob <bob@acme.test>", "Fixed."), f.thread)
	sent, err := f.bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if sent.Id == d.Message.Id || sent.ThreadId != f.thread || !slices.Equal(sent.LabelIds, []string{"SENT"}) {
		t.Errorf("sent %s in %s labelled %v; want a new id in %s labelled [SENT]", sent.Id, sent.ThreadId, sent.LabelIds, f.thread)
	}
	_, err = f.bob.Users.Drafts.Get("me", d.Id).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")
	_, err = f.bob.Users.Messages.Get("me", d.Message.Id).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")
	if ds := f.env.sim.DraftsOf("bob@acme.test"); len(ds) != 0 {
		t.Errorf("bob still has drafts %+v", ds)
	}

	m, err := f.bob.Users.Messages.Get("me", sent.Id).Format("metadata").Do()
	if err != nil {
		t.Fatal(err)
	}
	msgID := header(m, "Message-ID")
	if msgID == "" {
		t.Fatal("sent draft has no Message-ID")
	}
	for _, mb := range []string{"alice@acme.test", "carol@acme.test", "nora@customer.example"} {
		c, ok := f.env.sim.FindByMessageID(mb, msgID)
		if !ok || !slices.Contains(c.LabelIDs, "INBOX") {
			t.Errorf("%s: copy %v %v", mb, ok, c.LabelIDs)
		}
	}
	if n := len(f.env.sim.MessagesOf("bob@acme.test")); n != 2 {
		t.Errorf("bob holds %d messages, want the customer's and his sent reply", n)
	}

	_, err = f.bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")

	// A replacement message in the send request is what goes out.
	d2 := mustCreateDraft(t, f.bob, replyText("bob@acme.test", "Old text."), f.thread)
	repl := draftMsg(replyText("bob@acme.test", "New text."), f.thread)
	repl.Id = d2.Id
	sent2, err := f.bob.Users.Drafts.Send("me", repl).Do()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.bob.Users.Messages.Get("me", sent2.Id).Format("raw").Do()
	if err != nil || !strings.Contains(string(b64url(t, raw.Raw)), "New text.") {
		t.Errorf("sent the stored text instead of the replacement (%v)", err)
	}
}

// TestDraftHistory: the records a draft's life leaves in history.list.
func TestDraftHistory(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	start := mustProfileHistory(t, f.bob)
	d := mustCreateDraft(t, f.bob, replyText("bob@acme.test", "1"), f.thread)
	up, err := f.bob.Users.Drafts.Update("me", d.Id, draftMsg(replyText("bob@acme.test", "2"), f.thread)).Do()
	if err != nil {
		t.Fatal(err)
	}
	sent, err := f.bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do()
	if err != nil {
		t.Fatal(err)
	}
	gone := mustCreateDraft(t, f.bob, "To: x@y.example\r\n\r\nx\r\n", "")
	if err := f.bob.Users.Drafts.Delete("me", gone.Id).Do(); err != nil {
		t.Fatal(err)
	}
	hs, _ := mustHistory(t, f.bob, start, 0)
	want := []record{
		{Kind: "messageAdded", Message: d.Message.Id},
		{Kind: "messageAdded", Message: up.Message.Id},
		{Kind: "messageDeleted", Message: d.Message.Id},
		{Kind: "messageDeleted", Message: up.Message.Id},
		{Kind: "messageAdded", Message: sent.Id},
		{Kind: "messageAdded", Message: gone.Message.Id},
		{Kind: "messageDeleted", Message: gone.Message.Id},
	}
	if diff := cmp.Diff(want, flatten(t, hs)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if got := hs[0].MessagesAdded[0].Message.LabelIds; !slices.Equal(got, []string{"DRAFT"}) {
		t.Errorf("draft added with labels %v, want [DRAFT]", got)
	}
	// labelId=DRAFT finds the draft records only.
	resp, err := f.bob.Users.History.List("me").StartHistoryId(start).LabelId("DRAFT").Do()
	if err != nil || len(resp.History) != 6 {
		t.Errorf("history labelId=DRAFT: %d records, %v; want 6", len(resp.History), err)
	}
}

// TestDraftErrors: unknown drafts, bad payloads, a send without recipients
// (which keeps the draft).
func TestDraftErrors(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	bob := f.bob
	for name, tc := range map[string]struct {
		do     func() error
		code   int
		reason string
	}{
		"get unknown": {func() error { _, err := bob.Users.Drafts.Get("me", "r123").Do(); return err }, 404, "notFound"},
		"update unknown": {func() error {
			_, err := bob.Users.Drafts.Update("me", "r123", draftMsg("To: a@b.example\r\n\r\nx", "")).Do()
			return err
		}, 404, "notFound"},
		"delete unknown":  {func() error { return bob.Users.Drafts.Delete("me", "r123").Do() }, 404, "notFound"},
		"send unknown":    {func() error { _, err := bob.Users.Drafts.Send("me", &gmail.Draft{Id: "r123"}).Do(); return err }, 404, "notFound"},
		"send without id": {func() error { _, err := bob.Users.Drafts.Send("me", &gmail.Draft{}).Do(); return err }, 400, "invalidArgument"},
		"bad raw": {func() error {
			_, err := bob.Users.Drafts.Create("me", &gmail.Draft{Message: &gmail.Message{Raw: "!!not base64!!"}}).Do()
			return err
		}, 400, "invalidArgument"},
		"no message": {func() error { _, err := bob.Users.Drafts.Create("me", &gmail.Draft{}).Do(); return err }, 400, "badRequest"},
		"bad thread id": {func() error {
			_, err := bob.Users.Drafts.Create("me", draftMsg("To: a@b.example\r\n\r\nx", "not-an-id")).Do()
			return err
		}, 400, "invalidArgument"},
		"bad format": {func() error { _, err := bob.Users.Drafts.Get("me", "r123").Format("nope").Do(); return err }, 400, "invalidArgument"},
	} {
		t.Run(name, func(t *testing.T) {
			assertAPIError(t, tc.do(), tc.code, tc.reason)
		})
	}

	d := mustCreateDraft(t, bob, "Subject: nobody\r\n\r\nx\r\n", "")
	_, err := bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do()
	assertAPIError(t, err, http.StatusBadRequest, "badRequest")
	if _, err := bob.Users.Drafts.Get("me", d.Id).Do(); err != nil {
		t.Errorf("a failed send lost the draft: %v", err)
	}
}

// TestDraftQuota: each drafts method is charged its units from Gmail's
// quota table.
func TestDraftQuota(t *testing.T) {
	t.Parallel()
	f := newDraftFixture(t)
	var d *gmail.Draft
	steps := []struct {
		method string
		units  int
		do     func() error
	}{
		{"drafts.create", 10, func() (err error) {
			d, err = f.bob.Users.Drafts.Create("me", draftMsg(replyText("bob@acme.test", "x"), "")).Do()
			return err
		}},
		{"drafts.get", 5, func() error { _, err := f.bob.Users.Drafts.Get("me", d.Id).Do(); return err }},
		{"drafts.list", 5, func() error { _, err := f.bob.Users.Drafts.List("me").Do(); return err }},
		{"drafts.update", 15, func() error {
			_, err := f.bob.Users.Drafts.Update("me", d.Id, draftMsg(replyText("bob@acme.test", "y"), "")).Do()
			return err
		}},
		{"drafts.send", 100, func() error { _, err := f.bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do(); return err }},
		{"drafts.create", 10, func() (err error) {
			d, err = f.bob.Users.Drafts.Create("me", draftMsg("To: a@b.example\r\n\r\nx", "")).Do()
			return err
		}},
		{"drafts.delete", 10, func() error { return f.bob.Users.Drafts.Delete("me", d.Id).Do() }},
	}
	// Sequential: each step uses the draft of the one before.
	for _, s := range steps {
		before, reqBefore := f.env.sim.Usage("bob@acme.test")
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.method, err)
		}
		after, req := f.env.sim.Usage("bob@acme.test")
		if after-before != int64(s.units) || req[s.method] != reqBefore[s.method]+1 {
			t.Errorf("%s cost %d units, want %d", s.method, after-before, s.units)
		}
		if cost, ok := gmailsim.QuotaCost(s.method); !ok || cost != s.units {
			t.Errorf("QuotaCost(%s)=%d, %v", s.method, cost, ok)
		}
	}
}
