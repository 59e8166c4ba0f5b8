package gmailsim_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/postfach/postfach/internal/gmailsim"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// record is a history record reduced to what the tests compare.
type record struct {
	Kind     string
	Message  string
	LabelIDs []string
}

// flatten turns History resources into records, checking that ids
// increase and that each record carries exactly one change.
func flatten(tb testing.TB, hs []*gmail.History) []record {
	tb.Helper()
	var out []record
	var last uint64
	for _, h := range hs {
		if h.Id <= last {
			tb.Errorf("history id %d after %d, want increasing", h.Id, last)
		}
		last = h.Id
		if len(h.Messages) != 1 {
			tb.Errorf("history %d lists %d messages, want 1", h.Id, len(h.Messages))
		}
		var rs []record
		for _, a := range h.MessagesAdded {
			rs = append(rs, record{Kind: "messageAdded", Message: a.Message.Id})
		}
		for _, d := range h.MessagesDeleted {
			rs = append(rs, record{Kind: "messageDeleted", Message: d.Message.Id})
		}
		for _, a := range h.LabelsAdded {
			rs = append(rs, record{Kind: "labelAdded", Message: a.Message.Id, LabelIDs: a.LabelIds})
		}
		for _, r := range h.LabelsRemoved {
			rs = append(rs, record{Kind: "labelRemoved", Message: r.Message.Id, LabelIDs: r.LabelIds})
		}
		if len(rs) != 1 {
			tb.Errorf("history %d has %d changes, want 1", h.Id, len(rs))
		}
		out = append(out, rs...)
	}
	return out
}

// mustHistory lists all history after start, page by page, with the
// given types.
func mustHistory(tb testing.TB, svc *gmail.Service, start uint64, pageSize int64, types ...string) ([]*gmail.History, uint64) {
	tb.Helper()
	call := svc.Users.History.List("me").StartHistoryId(start).MaxResults(pageSize)
	if len(types) > 0 {
		call = call.HistoryTypes(types...)
	}
	var all []*gmail.History
	var current uint64
	err := call.Pages(context.Background(), func(r *gmail.ListHistoryResponse) error {
		if pageSize > 0 && int64(len(r.History)) > pageSize {
			tb.Errorf("page of %d records, want at most %d", len(r.History), pageSize)
		}
		all = append(all, r.History...)
		current = r.HistoryId
		return nil
	})
	if err != nil {
		tb.Fatalf("history.list: %v", err)
	}
	return all, current
}

func mustProfileHistory(tb testing.TB, svc *gmail.Service) uint64 {
	tb.Helper()
	p, err := svc.Users.GetProfile("me").Do()
	if err != nil {
		tb.Fatalf("getProfile: %v", err)
	}
	return p.HistoryId
}

// seedHistory makes, in alice's mailbox: two deliveries, a reply, a label
// change on the first, and the deletion of the second. It returns the ids
// in delivery order and the history id before.
func seedHistory(t *testing.T, env *testEnv) (ids []string, start uint64) {
	t.Helper()
	svc := env.MustClient(t, "alice@acme.test")
	start = mustProfileHistory(t, svc)
	ids = append(ids,
		env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0].ID,
		env.MustDeliver(t, mailText("b@x", "B", "", "b"), "alice@acme.test")[0].ID,
		env.MustDeliver(t, mailText("c@x", "Re: A", "References: <a@x>\r\n", "c"), "alice@acme.test")[0].ID)
	if err := env.sim.Modify("alice@acme.test", ids[0], []string{"STARRED"}, []string{"UNREAD"}); err != nil {
		t.Fatalf("Modify: %v", err)
	}
	if err := env.sim.DeleteMessage("alice@acme.test", ids[1]); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	return ids, start
}

func TestHistoryList(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	ids, start := seedHistory(t, env)
	svc := env.MustClient(t, "alice@acme.test")
	current := mustProfileHistory(t, svc)
	all := []record{
		{Kind: "messageAdded", Message: ids[0]},
		{Kind: "messageAdded", Message: ids[1]},
		{Kind: "messageAdded", Message: ids[2]},
		{Kind: "labelAdded", Message: ids[0], LabelIDs: []string{"STARRED"}},
		{Kind: "labelRemoved", Message: ids[0], LabelIDs: []string{"UNREAD"}},
		{Kind: "messageDeleted", Message: ids[1]},
	}
	tests := []struct {
		name     string
		pageSize int64
		types    []string
		want     []record
	}{
		{name: "All", want: all},
		{name: "PagesOfOne", pageSize: 1, want: all},
		{name: "PagesOfFour", pageSize: 4, want: all},
		{name: "LabelChanges", pageSize: 1, types: []string{"labelAdded", "labelRemoved"}, want: all[3:5]},
		{name: "MessagesAddedAndDeleted", pageSize: 2, types: []string{"messageAdded", "messageDeleted"},
			want: []record{all[0], all[1], all[2], all[5]}},
		{name: "OnlyDeleted", types: []string{"messageDeleted"}, want: all[5:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs, hid := mustHistory(t, svc, start, tc.pageSize, tc.types...)
			if diff := cmp.Diff(tc.want, flatten(t, hs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if hid != current {
				t.Errorf("historyId=%d, want the current %d", hid, current)
			}
		})
	}

	t.Run("Shape", func(t *testing.T) {
		t.Parallel()
		hs, _ := mustHistory(t, svc, start, 0)
		added := hs[0].MessagesAdded[0].Message
		if added.ThreadId != ids[0] || !cmp.Equal(added.LabelIds, []string{"INBOX", "UNREAD"}) {
			t.Errorf("messagesAdded message=%+v", added)
		}
		if m := hs[2].Messages[0]; m.Id != ids[2] || m.ThreadId != ids[0] {
			t.Errorf("reply listed as %+v, want thread %s", m, ids[0])
		}
		if got := hs[3].LabelsAdded[0].Message.LabelIds; !cmp.Equal(got, []string{"INBOX", "UNREAD", "STARRED"}) {
			t.Errorf("labels after labelAdded=%v", got)
		}
		if got := hs[4].LabelsRemoved[0].Message.LabelIds; !cmp.Equal(got, []string{"INBOX", "STARRED"}) {
			t.Errorf("labels after labelRemoved=%v", got)
		}
		// The message's history id is the id of its last record.
		m, err := svc.Users.Messages.Get("me", ids[0]).Format("minimal").Do()
		if err != nil {
			t.Fatal(err)
		}
		if m.HistoryId != hs[4].Id {
			t.Errorf("message historyId=%d, want %d", m.HistoryId, hs[4].Id)
		}
	})

	t.Run("LabelIdFilter", func(t *testing.T) {
		t.Parallel()
		resp, err := svc.Users.History.List("me").StartHistoryId(start).LabelId("STARRED").Do()
		if err != nil {
			t.Fatal(err)
		}
		want := []record{all[3], all[4]} // the star, and the unread removal from the starred message
		if diff := cmp.Diff(want, flatten(t, resp.History)); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
}

func TestHistoryStart(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	_, start := seedHistory(t, env)
	svc := env.MustClient(t, "alice@acme.test")
	current := mustProfileHistory(t, svc)
	tests := []struct {
		name   string
		start  uint64
		code   int
		reason string
		want   int // records
	}{
		{name: "Seeded", start: start, want: 6},
		{name: "Current", start: current},
		{name: "Future", start: current + 1000},
		{name: "Zero", start: 0, code: 404, reason: "notFound"},
		{name: "BeforeMailbox", start: start - 1, code: 404, reason: "notFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := svc.Users.History.List("me").StartHistoryId(tc.start).Do()
			if tc.code != 0 {
				assertAPIError(t, err, tc.code, tc.reason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.History) != tc.want || resp.NextPageToken != "" || resp.HistoryId != current {
				t.Errorf("got %d records, token %q, historyId %d; want %d, none, %d",
					len(resp.History), resp.NextPageToken, resp.HistoryId, tc.want, current)
			}
		})
	}
}

func TestHistoryInvalid(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	start := mustProfileHistory(t, svc)
	tests := []struct {
		name string
		do   func() error
	}{
		{name: "NoStart", do: func() error { _, err := svc.Users.History.List("me").Do(); return err }},
		{name: "PluralType", do: func() error {
			_, err := svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("labelsAdded").Do()
			return err
		}},
		{name: "UnknownLabel", do: func() error {
			_, err := svc.Users.History.List("me").StartHistoryId(start).LabelId("Label_99").Do()
			return err
		}},
		{name: "BadPageToken", do: func() error {
			_, err := svc.Users.History.List("me").StartHistoryId(start).PageToken("!!").Do()
			return err
		}},
		{name: "NonNumericStart", do: func() error {
			req, _ := http.NewRequest(http.MethodGet, env.url+"/gmail/v1/users/me/history?startHistoryId=abc", nil)
			return doRaw(t, req, "alice@acme.test")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertAPIError(t, tc.do(), 400, "invalidArgument")
		})
	}
}

// doRaw sends req as mailbox and turns an error answer into a
// *googleapi.Error, like the client does.
func doRaw(tb testing.TB, req *http.Request, mailbox string) error {
	tb.Helper()
	req.Header.Set("Authorization", "Bearer token-"+mailbox)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	return googleapi.CheckResponse(res)
}

func TestHistoryRetention(t *testing.T) {
	t.Parallel()

	t.Run("ExpireHistory", func(t *testing.T) {
		t.Parallel()
		env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
		_, start := seedHistory(t, env)
		svc := env.MustClient(t, "alice@acme.test")
		hs, _ := mustHistory(t, svc, start, 0)
		cut := hs[2].Id
		if err := env.sim.ExpireHistory("ALICE@acme.test", cut); err != nil {
			t.Fatal(err)
		}
		for _, from := range []uint64{start, hs[0].Id, cut - 1} {
			_, err := svc.Users.History.List("me").StartHistoryId(from).Do()
			assertAPIError(t, err, http.StatusNotFound, "notFound") // a *googleapi.Error with Code 404

		}
		got, _ := mustHistory(t, svc, cut, 0)
		if diff := cmp.Diff(historyIDs(hs[3:]), historyIDs(got)); diff != "" {
			t.Errorf("after the cut (-want +got):\n%s", diff)
		}
		// Expiring beyond the current id keeps the current id usable.
		current := mustProfileHistory(t, svc)
		if err := env.sim.ExpireHistory("alice@acme.test", current+100); err != nil {
			t.Fatal(err)
		}
		if got, _ := mustHistory(t, svc, current, 0); len(got) != 0 {
			t.Errorf("from current: %d records", len(got))
		}
		if err := env.sim.ExpireHistory("nobody@acme.test", 1); err == nil {
			t.Error("ExpireHistory of an unknown mailbox succeeded")
		}
	})

	t.Run("Duration", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		env := MustStart(t, gmailsim.Options{Now: clock.Now, HistoryRetention: 7 * 24 * time.Hour}, "alice@acme.test")
		svc := env.MustClient(t, "alice@acme.test")
		start := mustProfileHistory(t, svc)
		env.MustDeliver(t, mailText("old@x", "Old", "", "x"), "alice@acme.test")
		afterOld := mustProfileHistory(t, svc)
		clock.Advance(6 * 24 * time.Hour)
		env.MustDeliver(t, mailText("new@x", "New", "", "x"), "alice@acme.test")
		if got, _ := mustHistory(t, svc, start, 0); len(got) != 2 {
			t.Fatalf("within retention: %d records, want 2", len(got))
		}
		clock.Advance(2 * 24 * time.Hour) // the first record is 8 days old now
		_, err := svc.Users.History.List("me").StartHistoryId(start).Do()
		assertAPIError(t, err, 404, "notFound")
		if got, _ := mustHistory(t, svc, afterOld, 0); len(got) != 1 {
			t.Errorf("from after the expired record: %d records, want 1", len(got))
		}
	})
}

// TestHistoryIDsIncrease checks ids grow with gaps across many changes and
// that paging under concurrent changes neither skips nor repeats records.
func TestHistoryIDsIncrease(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	start := mustProfileHistory(t, svc)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			if _, err := env.sim.Deliver([]byte(mailText(strconv.Itoa(i)+"@x", "S", "", "b")), "alice@acme.test"); err != nil {
				t.Errorf("Deliver: %v", err)
			}
		}
	})
	var seen []uint64
	after := start
	for range 20 {
		resp, err := svc.Users.History.List("me").StartHistoryId(after).MaxResults(3).Do()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range resp.History {
			seen = append(seen, h.Id)
			after = h.Id
		}
	}
	wg.Wait()
	hs, _ := mustHistory(t, svc, after, 0)
	for _, h := range hs {
		seen = append(seen, h.Id)
	}
	if len(seen) != 50 || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != 50 {
		t.Errorf("saw %d ids, sorted=%v: %v", len(seen), slices.IsSorted(seen), seen)
	}
	gaps := 0
	for i := 1; i < len(seen); i++ {
		if seen[i] > seen[i-1]+1 {
			gaps++
		}
	}
	if gaps == 0 {
		t.Error("history ids are contiguous; Gmail's have gaps")
	}
}
