package desk_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// drafts is a fake desk.DraftWriter that keeps what it was given.
type drafts struct {
	mu  sync.Mutex
	got []desk.Draft
}

func (d *drafts) CreateDraft(_ context.Context, _ desk.GmailAccess, dr desk.Draft) (desk.CreatedDraft, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, dr)
	return desk.CreatedDraft{ID: fmt.Sprintf("r%d", len(d.got))}, nil
}

// DraftExists says every earlier draft is gone (sent), so each Reply
// creates one and the tests see its From.
func (d *drafts) DraftExists(context.Context, desk.GmailAccess, string) (bool, error) {
	return false, nil
}

// sendAs is a fake desk.SendAsChecker: one answer for everyone, counted.
type sendAs struct {
	mu     sync.Mutex
	status desk.SendAsStatus
	err    error
	calls  int
}

func (s *sendAs) SendAs(context.Context, string, string) (desk.SendAsStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.status, s.err
}

// TestReplyFromSharedAddress: the draft's From and the reason given, by
// the inbox's setting and the checker's answer; answers are reused for
// five minutes, failures are not.
func TestReplyFromSharedAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
		ib.Settings.ReplyFrom = inbox.ReplyFromShared
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dw, check := &drafts{}, &sendAs{status: desk.SendAsAccepted}
	svc := desk.New(desk.Options{Store: f.store, Reader: f.mail, Drafts: dw, SendAs: check, Now: f.clock.Now})
	reply := func(u desk.User) (string, string) {
		t.Helper()
		r, err := svc.Reply(ctx, u, desk.GmailAccess{OAuthToken: "bob"}, f.refund.ID, "", true)
		if err != nil || r.Draft == nil {
			t.Fatalf("Reply: %+v %v", r, err)
		}
		if r.View.ReplyFrom.ID != r.Notice.ID {
			t.Errorf("card reason %v, toast %v: want the same", r.View.ReplyFrom, r.Notice)
		}
		return dw.got[len(dw.got)-1].From, r.Notice.ID
	}
	for i, tc := range []struct {
		name     string
		before   func()
		status   desk.SendAsStatus
		err      error
		wantFrom string
		wantWhy  string
		calls    int
	}{
		{"Accepted", nil, desk.SendAsAccepted, nil, `"Support" <support@example.com>`, "", 1},
		{"Cached", nil, desk.SendAsNone, nil, `"Support" <support@example.com>`, "", 0},
		{"Expired", func() { f.clock.Add(5 * time.Minute) }, desk.SendAsNone, nil, `"Bob" <bob@example.com>`, "sendas.notice.not_alias", 1},
		{"PendingAfterExpiry", func() { f.clock.Add(5 * time.Minute) }, desk.SendAsPending, nil, `"Bob" <bob@example.com>`, "sendas.notice.pending", 1},
		{"NoAccess", func() { f.clock.Add(5 * time.Minute) }, desk.SendAsNone, fmt.Errorf("%w: not linked", desk.ErrNoServerAccess), `"Bob" <bob@example.com>`, "sendas.notice.no_access", 1},
		{"FailureNotCached", nil, desk.SendAsAccepted, errors.New("gmail 503"), `"Bob" <bob@example.com>`, "sendas.notice.unchecked", 1},
		{"AfterFailure", nil, desk.SendAsAccepted, nil, `"Support" <support@example.com>`, "", 1},
	} {
		if tc.before != nil {
			tc.before()
		}
		check.mu.Lock()
		check.status, check.err, check.calls = tc.status, tc.err, 0
		check.mu.Unlock()
		from, why := reply(bob)
		if from != tc.wantFrom || why != tc.wantWhy || check.calls != tc.calls {
			t.Errorf("%d %s: From %s, reason %q, %d checks; want %s, %q, %d", i, tc.name, from, why, check.calls, tc.wantFrom, tc.wantWhy, tc.calls)
		}
	}

	// Replies from the members' own addresses: Gmail is not asked.
	if _, err := f.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
		ib.Settings.ReplyFrom = inbox.ReplyFromOwn
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check.calls = 0
	if from, why := reply(carol); from != `"Carol" <carol@example.com>` || why != "" || check.calls != 0 {
		t.Errorf("own address: From %s, reason %q, %d checks", from, why, check.calls)
	}

	// Without a checker (no server access configured) the card says so.
	plain := desk.New(desk.Options{Store: f.store, Reader: f.mail, Drafts: dw, Now: f.clock.Now})
	if _, err := f.store.UpdateInbox(ctx, "example.com", "support", func(ib *inbox.Inbox) error {
		ib.Settings.ReplyFrom = inbox.ReplyFromShared
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r, err := plain.Reply(ctx, carol, desk.GmailAccess{OAuthToken: "carol"}, f.refund.ID, "", true)
	if err != nil || r.Notice.ID != "sendas.notice.no_access" || dw.got[len(dw.got)-1].From != `"Carol" <carol@example.com>` {
		t.Errorf("no checker: %+v %v", r.Notice, err)
	}
}
