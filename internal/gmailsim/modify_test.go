package gmailsim_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

// modifyFixture is a mailbox with a thread of two messages (m[0], m[1]), a
// starred single message m[2] and the user label Label_1.
type modifyFixture struct {
	env   *testEnv
	svc   *gmail.Service
	m     []string
	label string
	start uint64 // history id after the setup
}

func newModifyFixture(t *testing.T, opts gmailsim.Options) *modifyFixture {
	t.Helper()
	env := MustStart(t, opts, "alice@acme.test")
	f := &modifyFixture{env: env, svc: env.MustClient(t, "alice@acme.test")}
	f.m = []string{
		env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0].ID,
		env.MustDeliver(t, mailText("b@x", "Re: A", "References: <a@x>\r\n", "b"), "alice@acme.test")[0].ID,
		env.MustDeliver(t, mailText("c@x", "C", "", "c"), "alice@acme.test")[0].ID,
	}
	if err := env.sim.Modify("alice@acme.test", f.m[2], []string{"STARRED"}, nil); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.label, err = env.sim.CreateLabel("alice@acme.test", "Support"); err != nil {
		t.Fatal(err)
	}
	f.start = mustProfileHistory(t, f.svc)
	return f
}

func TestModifyHistory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(t *testing.T, f *modifyFixture) error
		want func(f *modifyFixture) []record
	}{
		{name: "AddAndRemove", do: func(t *testing.T, f *modifyFixture) error {
			_, err := f.svc.Users.Messages.Modify("me", f.m[0], &gmail.ModifyMessageRequest{
				AddLabelIds: []string{"STARRED", f.label}, RemoveLabelIds: []string{"UNREAD", "INBOX"}}).Do()
			return err
		}, want: func(f *modifyFixture) []record {
			return []record{
				{Kind: "labelAdded", Message: f.m[0], LabelIDs: []string{"STARRED", f.label}},
				{Kind: "labelRemoved", Message: f.m[0], LabelIDs: []string{"UNREAD", "INBOX"}},
			}
		}},
		{name: "AddPresentIsNoOp", do: func(t *testing.T, f *modifyFixture) error {
			_, err := f.svc.Users.Messages.Modify("me", f.m[0], &gmail.ModifyMessageRequest{AddLabelIds: []string{"INBOX", "UNREAD"}}).Do()
			return err
		}, want: func(*modifyFixture) []record { return nil }},
		{name: "RemoveAbsentIsNoOp", do: func(t *testing.T, f *modifyFixture) error {
			_, err := f.svc.Users.Messages.Modify("me", f.m[0], &gmail.ModifyMessageRequest{RemoveLabelIds: []string{"STARRED", f.label}}).Do()
			return err
		}, want: func(*modifyFixture) []record { return nil }},
		{name: "OnlyTheActualChange", do: func(t *testing.T, f *modifyFixture) error {
			_, err := f.svc.Users.Messages.Modify("me", f.m[2], &gmail.ModifyMessageRequest{
				AddLabelIds: []string{"STARRED", "IMPORTANT"}, RemoveLabelIds: []string{"TRASH"}}).Do()
			return err
		}, want: func(f *modifyFixture) []record {
			return []record{{Kind: "labelAdded", Message: f.m[2], LabelIDs: []string{"IMPORTANT"}}}
		}},
		{name: "BatchModify", do: func(t *testing.T, f *modifyFixture) error {
			return f.svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
				Ids: []string{f.m[0], f.m[2], f.m[0]}, AddLabelIds: []string{"STARRED"}, RemoveLabelIds: []string{"UNREAD"}}).Do()
		}, want: func(f *modifyFixture) []record {
			return []record{
				{Kind: "labelAdded", Message: f.m[0], LabelIDs: []string{"STARRED"}},
				{Kind: "labelRemoved", Message: f.m[0], LabelIDs: []string{"UNREAD"}},
				{Kind: "labelRemoved", Message: f.m[2], LabelIDs: []string{"UNREAD"}},
			}
		}},
		{name: "BatchModifyNoOp", do: func(t *testing.T, f *modifyFixture) error {
			return f.svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
				Ids: []string{f.m[0], f.m[1]}, AddLabelIds: []string{"INBOX"}}).Do()
		}, want: func(*modifyFixture) []record { return nil }},
		{name: "ThreadsModify", do: func(t *testing.T, f *modifyFixture) error {
			th, err := f.svc.Users.Threads.Modify("me", f.m[0], &gmail.ModifyThreadRequest{
				AddLabelIds: []string{f.label}, RemoveLabelIds: []string{"UNREAD"}}).Do()
			if err == nil && (th.Id != f.m[0] || len(th.Messages) != 2 || !cmp.Equal(th.Messages[1].LabelIds, []string{"INBOX", f.label})) {
				t.Errorf("thread=%+v", th)
			}
			return err
		}, want: func(f *modifyFixture) []record {
			return []record{
				{Kind: "labelAdded", Message: f.m[0], LabelIDs: []string{f.label}},
				{Kind: "labelRemoved", Message: f.m[0], LabelIDs: []string{"UNREAD"}},
				{Kind: "labelAdded", Message: f.m[1], LabelIDs: []string{f.label}},
				{Kind: "labelRemoved", Message: f.m[1], LabelIDs: []string{"UNREAD"}},
			}
		}},
		{name: "GoModify", do: func(t *testing.T, f *modifyFixture) error {
			return f.env.sim.Modify("ALICE@acme.test", f.m[1], []string{"TRASH"}, []string{"INBOX"})
		}, want: func(f *modifyFixture) []record {
			return []record{
				{Kind: "labelAdded", Message: f.m[1], LabelIDs: []string{"TRASH"}},
				{Kind: "labelRemoved", Message: f.m[1], LabelIDs: []string{"INBOX"}},
			}
		}},
		{name: "DeleteLabel", do: func(t *testing.T, f *modifyFixture) error {
			if err := f.env.sim.Modify("alice@acme.test", f.m[2], []string{f.label}, nil); err != nil {
				return err
			}
			return f.svc.Users.Labels.Delete("me", f.label).Do()
		}, want: func(f *modifyFixture) []record {
			return []record{
				{Kind: "labelAdded", Message: f.m[2], LabelIDs: []string{f.label}},
				{Kind: "labelRemoved", Message: f.m[2], LabelIDs: []string{f.label}},
			}
		}},
		{name: "DeleteMessage", do: func(t *testing.T, f *modifyFixture) error {
			return f.svc.Users.Messages.Delete("me", f.m[1]).Do()
		}, want: func(f *modifyFixture) []record {
			return []record{{Kind: "messageDeleted", Message: f.m[1]}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newModifyFixture(t, gmailsim.Options{})
			if err := tc.do(t, f); err != nil {
				t.Fatal(err)
			}
			hs, current := mustHistory(t, f.svc, f.start, 0)
			want := tc.want(f)
			if diff := cmp.Diff(want, flatten(t, hs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if len(want) == 0 && current != f.start {
				t.Errorf("historyId moved %d → %d without a change", f.start, current)
			}
		})
	}
}

func TestModifyResponse(t *testing.T) {
	t.Parallel()
	f := newModifyFixture(t, gmailsim.Options{})
	m, err := f.svc.Users.Messages.Modify("me", f.m[0], &gmail.ModifyMessageRequest{RemoveLabelIds: []string{"UNREAD"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	current := mustProfileHistory(t, f.svc)
	if m.Id != f.m[0] || m.ThreadId != f.m[0] || !cmp.Equal(m.LabelIds, []string{"INBOX"}) || m.HistoryId != current || m.Payload != nil {
		t.Errorf("modify answered %+v, want minimal with labels [INBOX] and historyId %d", m, current)
	}
	if _, err := f.svc.Users.Messages.Get("me", f.m[1]).Do(); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Users.Messages.Delete("me", f.m[0]).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Users.Messages.Get("me", f.m[0]).Do()
	assertAPIError(t, err, 404, "notFound")
	th, err := f.svc.Users.Threads.Get("me", f.m[0]).Do()
	if err != nil || len(th.Messages) != 1 || th.Messages[0].Id != f.m[1] {
		t.Errorf("thread after deleting its first message: %v, %+v", err, th)
	}
}

func TestModifyErrors(t *testing.T) {
	t.Parallel()
	f := newModifyFixture(t, gmailsim.Options{})
	mod := func(id string, add, remove []string) func() error {
		return func() error {
			_, err := f.svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{AddLabelIds: add, RemoveLabelIds: remove}).Do()
			return err
		}
	}
	tests := []struct {
		name    string
		do      func() error
		code    int
		reason  string
		message string
	}{
		{name: "UnknownLabel", do: mod(f.m[0], []string{"Label_42"}, nil), code: 400, reason: "invalidArgument", message: "Invalid label: Label_42"},
		{name: "UnknownRemoved", do: mod(f.m[0], nil, []string{"nope"}), code: 400, reason: "invalidArgument", message: "Invalid label: nope"},
		{name: "AddSent", do: mod(f.m[0], []string{"SENT"}, nil), code: 400, reason: "invalidArgument", message: "Invalid label: SENT"},
		{name: "RemoveDraft", do: mod(f.m[0], nil, []string{"DRAFT"}), code: 400, reason: "invalidArgument", message: "Invalid label: DRAFT"},
		{name: "AddAndRemoveSame", do: mod(f.m[0], []string{"STARRED"}, []string{"STARRED"}), code: 400, reason: "invalidArgument"},
		{name: "UnknownMessage", do: mod("18c0000000000000", []string{"STARRED"}, nil), code: 404, reason: "notFound"},
		{name: "MalformedID", do: mod("XYZ", []string{"STARRED"}, nil), code: 400, reason: "invalidArgument"},
		{name: "UnknownThread", code: 404, reason: "notFound", do: func() error {
			_, err := f.svc.Users.Threads.Modify("me", "18c0000000000000", &gmail.ModifyThreadRequest{AddLabelIds: []string{"STARRED"}}).Do()
			return err
		}},
		{name: "ThreadUnknownLabel", code: 400, reason: "invalidArgument", do: func() error {
			_, err := f.svc.Users.Threads.Modify("me", f.m[0], &gmail.ModifyThreadRequest{AddLabelIds: []string{"Label_42"}}).Do()
			return err
		}},
		{name: "BatchUnknownMessage", code: 404, reason: "notFound", do: func() error {
			return f.svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
				Ids: []string{f.m[0], "18c0000000000000"}, AddLabelIds: []string{"STARRED"}}).Do()
		}},
		{name: "BatchNoIDs", code: 400, reason: "invalidArgument", do: func() error {
			return f.svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{AddLabelIds: []string{"STARRED"}}).Do()
		}},
		{name: "DeleteUnknown", code: 404, reason: "notFound", do: func() error {
			return f.svc.Users.Messages.Delete("me", "18c0000000000000").Do()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gerr := assertAPIError(t, tc.do(), tc.code, tc.reason)
			if tc.message != "" && gerr.Message != tc.message {
				t.Errorf("Message=%q, want %q", gerr.Message, tc.message)
			}
		})
	}
	// None of the failures changed anything.
	if hs, _ := mustHistory(t, f.svc, f.start, 0); len(hs) != 0 {
		t.Errorf("failed calls recorded %d history records", len(hs))
	}
	if err := f.env.sim.Modify("alice@acme.test", "18c0000000000000", nil, nil); !errors.Is(err, gmailsim.ErrMessageNotFound) {
		t.Errorf("Modify of an unknown message: %v", err)
	}
	if err := f.env.sim.Modify("alice@acme.test", f.m[0], []string{"Label_42"}, nil); !errors.Is(err, gmailsim.ErrInvalidLabel) {
		t.Errorf("Modify with an unknown label: %v", err)
	}
	if err := f.env.sim.Modify("nobody@acme.test", f.m[0], nil, nil); !errors.Is(err, gmailsim.ErrUnknownMailbox) {
		t.Errorf("Modify in an unknown mailbox: %v", err)
	}
	if err := f.env.sim.DeleteMessage("alice@acme.test", "18c0000000000000"); !errors.Is(err, gmailsim.ErrMessageNotFound) {
		t.Errorf("DeleteMessage of an unknown message: %v", err)
	}
}
