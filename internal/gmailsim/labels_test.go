package gmailsim_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

func mustCreateLabel(tb testing.TB, svc *gmail.Service, l *gmail.Label) *gmail.Label {
	tb.Helper()
	got, err := svc.Users.Labels.Create("me", l).Do()
	if err != nil {
		tb.Fatalf("labels.create %q: %v", l.Name, err)
	}
	return got
}

func TestLabelsCRUD(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")

	support := mustCreateLabel(t, svc, &gmail.Label{Name: "Support"})
	want := &gmail.Label{Id: "Label_1", Name: "Support", Type: "user", LabelListVisibility: "labelShow", MessageListVisibility: "show"}
	if diff := cmp.Diff(want, support, cmpLabel); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	open := mustCreateLabel(t, svc, &gmail.Label{Name: "Support/Open", LabelListVisibility: "labelHide", MessageListVisibility: "hide",
		Color: &gmail.LabelColor{TextColor: "#ffffff", BackgroundColor: "#16a766"}})
	if open.Id != "Label_2" || open.Color == nil || open.Color.BackgroundColor != "#16a766" || open.LabelListVisibility != "labelHide" {
		t.Errorf("nested label=%+v", open)
	}

	list, err := svc.Users.Labels.List("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range list.Labels {
		ids = append(ids, l.Id)
		if l.Id == "INBOX" && (l.Type != "system" || l.Name != "INBOX") {
			t.Errorf("INBOX listed as %+v", l)
		}
	}
	if len(ids) < 3 || ids[0] != "INBOX" || ids[len(ids)-2] != "Label_1" || ids[len(ids)-1] != "Label_2" {
		t.Errorf("list ids=%v, want system labels first, then Label_1, Label_2", ids)
	}

	d := env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")[0]
	env.MustDeliver(t, mailText("b@x", "Re: A", "References: <a@x>\r\n", "b"), "alice@acme.test")
	if _, err := svc.Users.Threads.Modify("me", d.ThreadID, &gmail.ModifyThreadRequest{AddLabelIds: []string{support.Id}}).Do(); err != nil {
		t.Fatal(err)
	}
	if err := env.sim.Modify("alice@acme.test", d.ID, nil, []string{"UNREAD"}); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Users.Labels.Get("me", support.Id).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.MessagesTotal != 2 || got.MessagesUnread != 1 || got.ThreadsTotal != 1 || got.ThreadsUnread != 1 {
		t.Errorf("counts=%d/%d/%d/%d, want 2/1/1/1", got.MessagesTotal, got.MessagesUnread, got.ThreadsTotal, got.ThreadsUnread)
	}

	patched, err := svc.Users.Labels.Patch("me", support.Id, &gmail.Label{Name: "Help"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if patched.Name != "Help" || patched.LabelListVisibility != "labelShow" {
		t.Errorf("patched=%+v", patched)
	}
	if _, err := svc.Users.Labels.Patch("me", support.Id, &gmail.Label{Name: "HELP"}).Do(); err != nil {
		t.Errorf("renaming to another case of its own name: %v", err)
	}
	updated, err := svc.Users.Labels.Update("me", open.Id, &gmail.Label{Name: "Support/Open", MessageListVisibility: "hide"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if updated.Color != nil || updated.LabelListVisibility != "labelShow" || updated.MessageListVisibility != "hide" {
		t.Errorf("update did not replace: %+v", updated)
	}

	if err := svc.Users.Labels.Delete("me", support.Id).Do(); err != nil {
		t.Fatalf("labels.delete: %v", err)
	}
	_, err = svc.Users.Labels.Get("me", support.Id).Do()
	assertAPIError(t, err, 404, "notFound")
	for _, m := range env.sim.MessagesOf("alice@acme.test") {
		if slices.Contains(m.LabelIDs, support.Id) {
			t.Errorf("message %s still has labels %v", m.ID, m.LabelIDs)
		}
	}
	// The label is free again.
	if again := mustCreateLabel(t, svc, &gmail.Label{Name: "help"}); again.Id != "Label_3" {
		t.Errorf("recreated as %s, want the new id Label_3", again.Id)
	}
}

// cmpLabel ignores the embedded server response.
var cmpLabel = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ServerResponse" }, cmp.Ignore())

func TestLabelErrors(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	support := mustCreateLabel(t, svc, &gmail.Label{Name: "Support"})
	mustCreateLabel(t, svc, &gmail.Label{Name: "Sales"})
	tests := []struct {
		name   string
		do     func() error
		code   int
		reason string
	}{
		{name: "DuplicateName", code: 409, reason: "aborted", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "Support"}).Do()
			return err
		}},
		{name: "DuplicateOtherCase", code: 409, reason: "aborted", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "sUPPORT"}).Do()
			return err
		}},
		{name: "RenameOntoOther", code: 409, reason: "aborted", do: func() error {
			_, err := svc.Users.Labels.Patch("me", support.Id, &gmail.Label{Name: "sales"}).Do()
			return err
		}},
		{name: "SystemName", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "Inbox"}).Do()
			return err
		}},
		{name: "ReservedName", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "Drafts"}).Do()
			return err
		}},
		{name: "NoName", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{LabelListVisibility: "labelShow"}).Do()
			return err
		}},
		{name: "EmptyLevel", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "a//b"}).Do()
			return err
		}},
		{name: "BadVisibility", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "X", LabelListVisibility: "visible"}).Do()
			return err
		}},
		{name: "ColorOffPalette", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "X", Color: &gmail.LabelColor{TextColor: "#123456", BackgroundColor: "#000000"}}).Do()
			return err
		}},
		{name: "HalfColor", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "X", Color: &gmail.LabelColor{TextColor: "#000000"}}).Do()
			return err
		}},
		{name: "DeleteSystem", code: 400, reason: "invalidArgument", do: func() error {
			return svc.Users.Labels.Delete("me", "INBOX").Do()
		}},
		{name: "PatchSystem", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Patch("me", "STARRED", &gmail.Label{Name: "Stars"}).Do()
			return err
		}},
		{name: "UpdateWithoutName", code: 400, reason: "invalidArgument", do: func() error {
			_, err := svc.Users.Labels.Update("me", support.Id, &gmail.Label{LabelListVisibility: "labelHide"}).Do()
			return err
		}},
		{name: "GetUnknown", code: 404, reason: "notFound", do: func() error {
			_, err := svc.Users.Labels.Get("me", "Label_99").Do()
			return err
		}},
		{name: "DeleteUnknown", code: 404, reason: "notFound", do: func() error {
			return svc.Users.Labels.Delete("me", "Label_99").Do()
		}},
		{name: "PatchUnknown", code: 404, reason: "notFound", do: func() error {
			_, err := svc.Users.Labels.Patch("me", "Label_99", &gmail.Label{Name: "Y"}).Do()
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gerr := assertAPIError(t, tc.do(), tc.code, tc.reason)
			if tc.code == 409 && gerr.Message != "Label name exists or conflicts" {
				t.Errorf("Message=%q", gerr.Message)
			}
		})
	}
}

func TestCreateLabelGo(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "alice@acme.test")
	id, err := env.sim.CreateLabel("alice@acme.test", "Shared/support@")
	if err != nil || id != "Label_1" {
		t.Fatalf("CreateLabel=%q, %v", id, err)
	}
	if _, err := env.sim.CreateLabel("alice@acme.test", "shared/SUPPORT@"); err == nil {
		t.Error("duplicate name accepted")
	}
	if _, err := env.sim.CreateLabel("nobody@acme.test", "X"); err == nil {
		t.Error("unknown mailbox accepted")
	}
}
