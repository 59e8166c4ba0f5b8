package inbox

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestMentions(t *testing.T) {
	t.Parallel()
	team := Inbox{TenantID: "example.com", ID: "support", Name: "Support", Members: []Member{
		{Email: "alice@example.com", Name: "Alice", Role: RoleAdmin},
		{Email: "bob@example.com", Role: RoleAgent},
		{Email: "carol@example.com", Name: "Carol Jones", Role: RoleAgent},
		{Email: "bob@example.org", Role: RoleAgent},
	}}
	tests := []struct {
		name, body string
		want       []string
		refusal    string // message id of the refusal, "" for none
	}{
		{"none", "Called the customer.", nil, ""},
		{"local part", "@alice please check", []string{"alice@example.com"}, ""},
		{"display name, case and punctuation", "Thanks @ALICE. And (@alice), again", []string{"alice@example.com"}, ""},
		{"full address", "cc @carol@example.com!", []string{"carol@example.com"}, ""},
		{"address in text is no mention", "customer wrote from jane@example.com", nil, ""},
		{"author is dropped", "note to self @dave.", nil, "refusal.mention_not_member"},
		{"self", "reminder for @me", nil, "refusal.mention_not_member"},
		{"author mentions self", "@bob@example.com check later", nil, ""},
		{"non-member address", "@dave@example.com", nil, "refusal.mention_not_member"},
		{"ambiguous", "@bob", nil, "refusal.mention_ambiguous"},
		{"disambiguated", "@bob@example.org", []string{"bob@example.org"}, ""},
		{"lone at", "meet @ 5pm", nil, ""},
		{"several", "@carol and @alice, @Alice", []string{"alice@example.com", "carol@example.com"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := team.Mentions("bob@example.com", tt.body)
			if tt.refusal != "" {
				if r, ok := RefusalOf(err); !ok || r.ID != tt.refusal || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Mentions(%q) = %v, %v; want refusal %s", tt.body, got, err, tt.refusal)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Mentions(%q) = %v, %v; want %v", tt.body, got, err, tt.want)
			}
		})
	}
}

func TestMentionHandle(t *testing.T) {
	t.Parallel()
	team := Inbox{Members: []Member{{Email: "bob@example.com"}, {Email: "bob@example.org"}, {Email: "carol@example.com"}}}
	for email, want := range map[string]string{"bob@example.com": "@bob@example.com", "bob@example.org": "@bob@example.org", "carol@example.com": "@carol"} {
		if got := team.MentionHandle(email); got != want {
			t.Errorf("MentionHandle(%s) = %s, want %s", email, got, want)
		}
	}
}

func TestNoteEditDelete(t *testing.T) {
	t.Parallel()
	c, _, err := NewConversation(ib, "<m1@x>", "Hello", "c@x.com", "", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNote(c, "bob@example.com", "first", t0)
	if err != nil {
		t.Fatal(err)
	}
	n.Mentions = []string{"alice@example.com"}
	if _, err := n.Edit("alice@example.com", "hijack", nil, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("edit by another member: %v, want a refusal", err)
	}
	if _, err := n.Edit("bob@example.com", " first ", nil, t0); !errors.Is(err, ErrUnchanged) {
		t.Errorf("edit to the same text: %v, want ErrUnchanged", err)
	}
	if _, err := n.Edit("bob@example.com", "  ", nil, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("edit to blank: %v, want a refusal", err)
	}
	t1 := t0.Add(time.Minute)
	ev, err := n.Edit("bob@example.com", "second", []string{"carol@example.com"}, t1)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != ActNoteEdited || ev.From != "first" || ev.To != n.ID || ev.Version != 0 || ev.ValidateFor(c.TenantID, c.ID) != nil {
		t.Errorf("edit entry = %+v", ev)
	}
	if n.Body != "second" || !n.EditedAt.Equal(t1) || !slices.Equal(n.Mentions, []string{"alice@example.com", "carol@example.com"}) {
		t.Errorf("edited note = %+v", n)
	}
	if err := n.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, err := n.Delete("carol@example.com", t1); !errors.Is(err, ErrInvalid) {
		t.Errorf("delete by another member: %v, want a refusal", err)
	}
	ev, err = n.Delete("bob@example.com", t1)
	if err != nil || ev.Kind != ActNoteDeleted || ev.From != "second" || ev.To != n.ID {
		t.Errorf("delete = %+v, %v", ev, err)
	}
	m := NewMention(c, n, "carol@example.com")
	if m.InboxID != "support" || m.Subject != "Hello" || m.Excerpt != "second" || !m.At.Equal(t1) || !m.Unread() {
		t.Errorf("mention = %+v", m)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"short":                "short",
		"two\n lines":          "two lines",
		"exactly ten":          "exactly t…",
		"äöüäöüäöüä":           "äöüäöüäöüä",
		"äöüäöüäöüäß and more": "äöüäöüäöü…",
	} {
		if got := Excerpt(in, 10); got != want {
			t.Errorf("Excerpt(%q, 10) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMentions: whatever a note says, Mentions returns members of the
// inbox only, sorted, without the author and without repeats, or refuses.
func FuzzMentions(f *testing.F) {
	team := Inbox{TenantID: "example.com", ID: "support", Name: "Support", Members: []Member{
		{Email: "alice@example.com", Name: "Alice", Role: RoleAdmin},
		{Email: "bob@example.com", Role: RoleAgent},
		{Email: "bob@example.org", Role: RoleAgent},
		{Email: "ümit@example.com", Name: "Ümit", Role: RoleAgent},
	}}
	for _, s := range []string{"@alice", "@bob", "@bob@example.org, @ALICE.", "mail jane@example.com", "@ümit\u202e@alice", "@@@", "@a.b-c_d+e@x.y", "\xff@alice"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := team.Mentions("alice@example.com", body)
		if err != nil {
			if _, ok := RefusalOf(err); !ok {
				t.Fatalf("Mentions(%q): %v is no refusal", body, err)
			}
			return
		}
		for i, e := range got {
			if _, ok := team.Member(e); !ok || e == "alice@example.com" {
				t.Fatalf("Mentions(%q) = %v: %s is no member or the author", body, got, e)
			}
			if i > 0 && got[i-1] >= e {
				t.Fatalf("Mentions(%q) = %v: not sorted and unique", body, got)
			}
		}
	})
}
