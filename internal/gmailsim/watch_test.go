package gmailsim_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

const topic = "projects/postfach-test/topics/gmail"

// recorder collects notifications; its Notify is an Options.Notify.
type recorder struct {
	mu sync.Mutex
	ns []gmailsim.Notification
}

func (r *recorder) Notify(n gmailsim.Notification) {
	r.mu.Lock()
	r.ns = append(r.ns, n)
	r.mu.Unlock()
}

// take returns the notifications so far and forgets them.
func (r *recorder) take() []gmailsim.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	ns := r.ns
	r.ns = nil
	return ns
}

// waitFor polls until at least n notifications arrived or 5s passed.
func (r *recorder) waitFor(n int) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		got := len(r.ns)
		r.mu.Unlock()
		if got >= n {
			return
		}
	}
}

func notes(addr string, ids ...uint64) []gmailsim.Notification {
	var out []gmailsim.Notification
	for _, id := range ids {
		out = append(out, gmailsim.Notification{EmailAddress: addr, HistoryID: id})
	}
	return out
}

func historyIDs(hs []*gmail.History) []uint64 {
	var out []uint64
	for _, h := range hs {
		out = append(out, h.Id)
	}
	return out
}

func mustWatch(tb testing.TB, svc *gmail.Service, req *gmail.WatchRequest) *gmail.WatchResponse {
	tb.Helper()
	resp, err := svc.Users.Watch("me", req).Do()
	if err != nil {
		tb.Fatalf("watch: %v", err)
	}
	return resp
}

func TestWatchLifecycle(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rec := &recorder{}
	env := MustStart(t, gmailsim.Options{Now: clock.Now, Notify: rec.Notify}, "alice@acme.test", "bob@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	const alice = "alice@acme.test"

	d := env.MustDeliver(t, mailText("a@x", "A", "", "a"), alice, "bob@acme.test")[0]
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("notifications without a watch: %v", got)
	}
	if _, ok := env.sim.WatchOf(alice); ok {
		t.Error("WatchOf reports a watch before watch")
	}

	resp := mustWatch(t, svc, &gmail.WatchRequest{TopicName: topic})
	current := mustProfileHistory(t, svc)
	if resp.HistoryId != current || resp.Expiration != clock.Now().Add(7*24*time.Hour).UnixMilli() {
		t.Errorf("watch=%+v, want historyId %d and expiration now+7d", resp, current)
	}
	if diff := cmp.Diff(notes(alice, current), rec.take()); diff != "" {
		t.Errorf("watch should notify at once (-want +got):\n%s", diff)
	}
	w, ok := env.sim.WatchOf("ALICE@acme.test")
	if !ok || w.TopicName != topic || w.LabelFilterBehavior != "include" || !w.Expiration.Equal(time.UnixMilli(resp.Expiration)) {
		t.Errorf("WatchOf=%+v, %v", w, ok)
	}

	// Every change in the watched mailbox notifies, with its record's id;
	// bob's mailbox is not watched.
	env.MustDeliver(t, mailText("b@x", "Re: A", "References: <a@x>\r\n", "b"), alice, "bob@acme.test")
	if _, err := svc.Users.Messages.Modify("me", d.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}, RemoveLabelIds: []string{"UNREAD"}}).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Users.Messages.Modify("me", d.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Do(); err != nil {
		t.Fatal(err) // a no-op: no record, no notification
	}
	if err := svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: []string{d.ID}, AddLabelIds: []string{"IMPORTANT"}}).Do(); err != nil {
		t.Fatal(err)
	}
	if err := env.sim.DeleteMessage(alice, d.ID); err != nil {
		t.Fatal(err)
	}
	hs, _ := mustHistory(t, svc, resp.HistoryId, 0)
	if len(hs) != 5 {
		t.Fatalf("%d records since the watch, want 5", len(hs))
	}
	if diff := cmp.Diff(notes(alice, historyIDs(hs)...), rec.take()); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}

	// Watching again replaces the watch and notifies again.
	mustWatch(t, svc, &gmail.WatchRequest{TopicName: topic, LabelIds: []string{"INBOX"}})
	if got := rec.take(); len(got) != 1 {
		t.Errorf("re-watch notified %v", got)
	}
	if w, _ := env.sim.WatchOf(alice); !cmp.Equal(w.LabelIDs, []string{"INBOX"}) {
		t.Errorf("re-watch kept labels %v", w.LabelIDs)
	}

	// After stop, nothing.
	if err := svc.Users.Stop("me").Do(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := svc.Users.Stop("me").Do(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if _, ok := env.sim.WatchOf(alice); ok {
		t.Error("WatchOf reports a watch after stop")
	}
	env.MustDeliver(t, mailText("c@x", "C", "", "c"), alice)
	if got := rec.take(); len(got) != 0 {
		t.Errorf("notified after stop: %v", got)
	}

	// After expiration, nothing either.
	mustWatch(t, svc, &gmail.WatchRequest{TopicName: topic})
	rec.take()
	clock.Advance(7*24*time.Hour - time.Millisecond)
	env.MustDeliver(t, mailText("d@x", "D", "", "d"), alice)
	if got := rec.take(); len(got) != 1 {
		t.Errorf("just before expiration: %v, want one notification", got)
	}
	clock.Advance(time.Millisecond)
	env.MustDeliver(t, mailText("e@x", "E", "", "e"), alice)
	if got := rec.take(); len(got) != 0 {
		t.Errorf("notified after expiration: %v", got)
	}
	if _, ok := env.sim.WatchOf(alice); ok {
		t.Error("WatchOf reports an expired watch")
	}
}

func TestWatchErrors(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	tests := []struct {
		name string
		req  *gmail.WatchRequest
	}{
		{name: "NoTopic", req: &gmail.WatchRequest{}},
		{name: "BareTopic", req: &gmail.WatchRequest{TopicName: "gmail"}},
		{name: "Subscription", req: &gmail.WatchRequest{TopicName: "projects/p/subscriptions/s"}},
		{name: "EmptyProject", req: &gmail.WatchRequest{TopicName: "projects//topics/t"}},
		{name: "TrailingSlash", req: &gmail.WatchRequest{TopicName: "projects/p/topics/t/"}},
		{name: "BadBehavior", req: &gmail.WatchRequest{TopicName: topic, LabelIds: []string{"INBOX"}, LabelFilterBehavior: "sometimes"}},
		{name: "UnknownLabel", req: &gmail.WatchRequest{TopicName: topic, LabelIds: []string{"Label_9"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := svc.Users.Watch("me", tc.req).Do()
			assertAPIError(t, err, 400, "invalidArgument")
		})
	}
	if _, ok := env.sim.WatchOf("alice@acme.test"); ok {
		t.Error("a failed watch left a watch behind")
	}
}

func TestWatchLabelFilter(t *testing.T) {
	t.Parallel()
	// The events, in order: 0 a delivery to INBOX; 1 a SENT-only insert;
	// 2 STARRED added to an INBOX message; 3 Support added to the sent
	// message; 4 INBOX removed from the first message; 5 IMPORTANT added
	// to it, now outside INBOX.
	tests := []struct {
		name     string
		labels   []string
		behavior string
		action   string // deprecated field
		want     []int
	}{
		{name: "NoFilter", want: []int{0, 1, 2, 3, 4, 5}},
		{name: "IncludeInbox", labels: []string{"INBOX"}, behavior: "include", want: []int{0, 2, 4}},
		{name: "IncludeUpperCase", labels: []string{"INBOX"}, behavior: "INCLUDE", want: []int{0, 2, 4}},
		{name: "DefaultIsInclude", labels: []string{"INBOX"}, want: []int{0, 2, 4}},
		{name: "ExcludeInbox", labels: []string{"INBOX"}, behavior: "exclude", want: []int{1, 3, 5}},
		{name: "DeprecatedAction", labels: []string{"INBOX"}, action: "exclude", want: []int{1, 3, 5}},
		{name: "BehaviorWinsOverAction", labels: []string{"INBOX"}, behavior: "include", action: "exclude", want: []int{0, 2, 4}},
		{name: "IncludeUserLabel", labels: []string{"Label_1"}, behavior: "include", want: []int{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			env := MustStart(t, gmailsim.Options{Notify: rec.Notify}, "alice@acme.test")
			const alice = "alice@acme.test"
			svc := env.MustClient(t, alice)
			if _, err := env.sim.CreateLabel(alice, "Support"); err != nil {
				t.Fatal(err)
			}
			first := env.MustDeliver(t, mailText("a@x", "A", "", "a"), alice)[0].ID
			start := mustWatch(t, svc, &gmail.WatchRequest{TopicName: topic, LabelIds: tc.labels,
				LabelFilterBehavior: tc.behavior, LabelFilterAction: tc.action}).HistoryId
			rec.take()

			env.MustDeliver(t, mailText("b@x", "B", "", "b"), alice)
			sent, err := env.sim.Insert(alice, []byte(mailText("s@x", "S", "", "s")), []string{"SENT"}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				id          string
				add, remove []string
			}{
				{first, []string{"STARRED"}, nil},
				{sent.ID, []string{"Label_1"}, nil},
				{first, nil, []string{"INBOX"}},
				{first, []string{"IMPORTANT"}, nil},
			}
			for _, st := range steps {
				if err := env.sim.Modify(alice, st.id, st.add, st.remove); err != nil {
					t.Fatal(err)
				}
			}
			hs, _ := mustHistory(t, svc, start, 0)
			if len(hs) != 6 {
				t.Fatalf("%d records, want 6", len(hs))
			}
			var want []uint64
			for _, i := range tc.want {
				want = append(want, hs[i].Id)
			}
			if diff := cmp.Diff(notes(alice, want...), rec.take()); diff != "" {
				t.Errorf("notifications (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotifyMinInterval(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	const interval = 300 * time.Millisecond
	env := MustStart(t, gmailsim.Options{Notify: rec.Notify, NotifyMinInterval: interval}, "alice@acme.test", "bob@acme.test")
	const alice = "alice@acme.test"
	alices := env.MustClient(t, alice)
	mustWatch(t, alices, &gmail.WatchRequest{TopicName: topic})
	mustWatch(t, env.MustClient(t, "bob@acme.test"), &gmail.WatchRequest{TopicName: topic})
	if got := rec.take(); len(got) != 2 {
		t.Fatalf("watch notifications: %v", got)
	}

	// A burst right after the watch's notification is held back and
	// coalesced into one carrying the latest id.
	began := time.Now()
	for i := range 5 {
		env.MustDeliver(t, mailText(string(rune('a'+i))+"@x", "S", "", "b"), alice)
	}
	burst := time.Since(began)
	early := rec.take()
	rec.waitFor(1)
	time.Sleep(interval + 100*time.Millisecond)
	current := mustProfileHistory(t, alices)
	late := rec.take()
	if burst < interval/2 { // a slow machine may let the burst outlast the interval
		if len(early) != 0 {
			t.Errorf("notified inside the interval: %v", early)
		}
		if diff := cmp.Diff(notes(alice, current), late); diff != "" {
			t.Errorf("coalesced notification (-want +got):\n%s", diff)
		}
	} else if len(early)+len(late) >= 5 || len(late) == 0 || late[len(late)-1].HistoryID != current {
		t.Errorf("burst of %v: notified %v then %v", burst, early, late)
	}

	// Once the interval has passed, the next change notifies at once.
	env.MustDeliver(t, mailText("z@x", "Z", "", "z"), alice)
	got := rec.take()
	if len(got) != 1 || got[0].HistoryID != mustProfileHistory(t, alices) {
		t.Errorf("after the interval: %v", got)
	}
	if slices.ContainsFunc(got, func(n gmailsim.Notification) bool { return n.EmailAddress != alice }) {
		t.Errorf("bob notified: %v", got)
	}
}
