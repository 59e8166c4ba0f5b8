package gmailsim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

func TestQuotaRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	env := MustStart(t, gmailsim.Options{Now: clock.Now, QuotaPerSecond: 12}, "alice@acme.test", "bob@acme.test")
	d := env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0]
	svc := env.MustClient(t, "alice@acme.test")
	get := func() error { _, err := svc.Users.Messages.Get("me", d.ID).Format("minimal").Do(); return err }

	for i := range 2 { // 5 + 5 of 12 units
		if err := get(); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
	}
	err := get() // 15 > 12
	gerr := assertAPIError(t, err, 429, "rateLimitExceeded")
	// The retry time is when the first charge leaves the one-second window.
	if want := "User-rate limit exceeded.  Retry after 2025-06-02T10:00:01.000Z"; gerr.Message != want {
		t.Errorf("Message=%q, want %q", gerr.Message, want)
	}
	if !strings.Contains(string(gerr.Body), `"status":"RESOURCE_EXHAUSTED"`) {
		t.Errorf("body=%s", gerr.Body)
	}
	// Cheaper calls still fit: 10 + 2 = 12.
	if _, err := svc.Users.History.List("me").StartHistoryId(1).Do(); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("history.list within quota: %v, want its own 404", err)
	}
	_, err = svc.Users.GetProfile("me").Do()
	assertAPIError(t, err, 429, "rateLimitExceeded")
	// Other mailboxes have their own budget.
	if _, err := env.MustClient(t, "bob@acme.test").Users.GetProfile("me").Do(); err != nil {
		t.Errorf("bob limited by alice's usage: %v", err)
	}
	// The window slides.
	clock.Advance(time.Second)
	if err := get(); err != nil {
		t.Errorf("a second later: %v", err)
	}

	units, requests := env.sim.Usage("ALICE@acme.test")
	if units != 5+5+2+5 {
		t.Errorf("units=%d, want 17", units)
	}
	want := map[string]int{"messages.get": 4, "history.list": 1, "getProfile": 1}
	if diff := cmp.Diff(want, requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestQuotaCosts(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	d := env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0]
	svc := env.MustClient(t, "alice@acme.test")
	tests := []struct {
		method string
		units  int
		do     func() error
	}{
		{"getProfile", 1, func() error { _, err := svc.Users.GetProfile("me").Do(); return err }},
		{"messages.get", 5, func() error { _, err := svc.Users.Messages.Get("me", d.ID).Do(); return err }},
		{"messages.list", 5, func() error { _, err := svc.Users.Messages.List("me").Do(); return err }},
		{"messages.insert", 25, func() error {
			_, err := svc.Users.Messages.Insert("me", &gmail.Message{Raw: "U3ViamVjdDogeA0KDQp4"}).Do()
			return err
		}},
		{"messages.modify", 5, func() error {
			_, err := svc.Users.Messages.Modify("me", d.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Do()
			return err
		}},
		{"messages.batchModify", 50, func() error {
			return svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: []string{d.ID}, AddLabelIds: []string{"IMPORTANT"}}).Do()
		}},
		{"threads.get", 10, func() error { _, err := svc.Users.Threads.Get("me", d.ThreadID).Do(); return err }},
		{"threads.modify", 10, func() error {
			_, err := svc.Users.Threads.Modify("me", d.ThreadID, &gmail.ModifyThreadRequest{RemoveLabelIds: []string{"UNREAD"}}).Do()
			return err
		}},
		{"history.list", 2, func() error { _, err := svc.Users.History.List("me").StartHistoryId(1 << 40).Do(); return err }},
		{"labels.list", 1, func() error { _, err := svc.Users.Labels.List("me").Do(); return err }},
		{"labels.get", 1, func() error { _, err := svc.Users.Labels.Get("me", "INBOX").Do(); return err }},
		{"labels.create", 5, func() error { _, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "L"}).Do(); return err }},
		{"labels.patch", 5, func() error {
			_, err := svc.Users.Labels.Patch("me", "Label_1", &gmail.Label{Name: "M"}).Do()
			return err
		}},
		{"labels.update", 5, func() error {
			_, err := svc.Users.Labels.Update("me", "Label_1", &gmail.Label{Name: "N"}).Do()
			return err
		}},
		{"labels.delete", 5, func() error { return svc.Users.Labels.Delete("me", "Label_1").Do() }},
		{"watch", 100, func() error { _, err := svc.Users.Watch("me", &gmail.WatchRequest{TopicName: topic}).Do(); return err }},
		{"stop", 50, func() error { return svc.Users.Stop("me").Do() }},
		{"messages.delete", 10, func() error { return svc.Users.Messages.Delete("me", d.ID).Do() }},
	}
	// Sequential: each step depends on the state the previous one left.
	for _, tc := range tests {
		before, _ := env.sim.Usage("alice@acme.test")
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		after, requests := env.sim.Usage("alice@acme.test")
		if after-before != int64(tc.units) || requests[tc.method] != 1 {
			t.Errorf("%s cost %d units and counted %d requests, want %d and 1", tc.method, after-before, requests[tc.method], tc.units)
		}
		if cost, ok := gmailsim.QuotaCost(tc.method); !ok || cost != tc.units {
			t.Errorf("QuotaCost(%s)=%d, %v", tc.method, cost, ok)
		}
	}
}

func TestInjectFaults(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	d := env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0]
	svc := env.MustClient(t, "alice@acme.test")
	start := mustProfileHistory(t, svc)
	env.sim.InjectFaults("Alice@acme.test", "history.list",
		gmailsim.FaultRateLimited, gmailsim.FaultUserRateLimited, gmailsim.FaultBackendError, gmailsim.FaultUnavailable)
	env.sim.InjectFaults("alice@acme.test", "*", gmailsim.Fault{Code: 500, Message: "boom"})

	history := func() error { _, err := svc.Users.History.List("me").StartHistoryId(start).Do(); return err }
	get := func() error { _, err := svc.Users.Messages.Get("me", d.ID).Do(); return err }
	steps := []struct {
		name    string
		do      func() error
		code    int
		reason  string
		message string
	}{
		// messages.get skips the history.list faults and takes the "*" one.
		{name: "GetHitsWildcard", do: get, code: 500, reason: "backendError", message: "boom"},
		{name: "GetRecovered", do: get},
		{name: "History429", do: history, code: 429, reason: "rateLimitExceeded"},
		{name: "History403", do: history, code: 403, reason: "userRateLimitExceeded"},
		{name: "History500", do: history, code: 500, reason: "backendError"},
		{name: "History503", do: history, code: 503, reason: "backendError"},
		{name: "HistoryRecovered", do: history},
	}
	for _, st := range steps {
		err := st.do()
		if st.code == 0 {
			if err != nil {
				t.Errorf("%s: %v", st.name, err)
			}
			continue
		}
		gerr := assertAPIError(t, err, st.code, st.reason)
		if st.message != "" && gerr.Message != st.message {
			t.Errorf("%s: Message=%q", st.name, gerr.Message)
		}
	}
	units, requests := env.sim.Usage("alice@acme.test")
	if want := int64(1 + 5 + 2); units != want { // getProfile, one get, one history.list
		t.Errorf("units=%d, want %d: faults are not charged", units, want)
	}
	if requests["history.list"] != 5 || requests["messages.get"] != 2 {
		t.Errorf("requests=%v", requests)
	}
}

func TestInjectFaultsUnknownMethod(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	defer func() {
		if recover() == nil {
			t.Error("InjectFaults accepted an unknown method")
		}
	}()
	env.sim.InjectFaults("alice@acme.test", "history.get", gmailsim.FaultBackendError)
}

func TestRandomFaults(t *testing.T) {
	t.Parallel()
	var asked []string
	fail := true
	env := MustStart(t, gmailsim.Options{Faults: func(mailbox, method string) (gmailsim.Fault, bool) {
		asked = append(asked, mailbox+" "+method)
		return gmailsim.FaultRateLimited, fail && method == "messages.get"
	}}, "alice@acme.test")
	d := env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0]
	svc := env.MustClient(t, "alice@acme.test")
	get := func() error { _, err := svc.Users.Messages.Get("me", d.ID).Do(); return err }

	assertAPIError(t, get(), 429, "rateLimitExceeded")
	if _, err := svc.Users.GetProfile("me").Do(); err != nil {
		t.Errorf("getProfile, not chosen: %v", err)
	}
	fail = false
	if err := get(); err != nil {
		t.Errorf("get once the hook says no: %v", err)
	}
	if want := []string{"alice@acme.test messages.get", "alice@acme.test getProfile", "alice@acme.test messages.get"}; !slices.Equal(asked, want) {
		t.Errorf("asked %q, want %q", asked, want)
	}
	units, requests := env.sim.Usage("alice@acme.test")
	if want := int64(1 + 5); units != want { // getProfile, the second get
		t.Errorf("units=%d, want %d: a random fault is not charged", units, want)
	}
	if requests["messages.get"] != 2 {
		t.Errorf("requests=%v: a random fault is counted", requests)
	}
}
