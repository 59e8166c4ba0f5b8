package inbox

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ib = Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support", Members: []Member{
		{Email: "alice@example.com", Name: "Alice", Role: RoleAdmin},
		{Email: "bob@example.com", Role: RoleAgent},
	}}
)

func TestParseMessageIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"one", "<a@b>", []string{"a@b"}},
		{"references", "<a@b> <c@d>\r\n <e@f>", []string{"a@b", "c@d", "e@f"}},
		{"no brackets", "a@b c@d", []string{"a@b", "c@d"}},
		{"duplicates", "<a@b> <a@b>", []string{"a@b"}},
		{"comments and junk", "(comment) <a@b> junk <c@d", []string{"a@b"}},
		{"empty brackets", "<> < >", nil},
		{"quotes", `<"weird"@b>`, nil},
		{"empty", "", nil},
		{"too long", "<" + strings.Repeat("x", MaxMessageIDLength+1) + ">", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ParseMessageIDs(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("ParseMessageIDs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseMessageIDs(f *testing.F) {
	f.Add("<a@b> <c@d>")
	f.Add("<<>>")
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range ParseMessageIDs(s) {
			if id == "" || strings.ContainsAny(id, "<> \t\r\n") {
				t.Fatalf("bad id %q from %q", id, s)
			}
		}
	})
}

func TestThreadHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		h        ThreadHeaders
		root     string
		allFirst string
		all      int
	}{
		{"first mail", ThreadHeaders{MessageID: "<m1@x>"}, "m1@x", "m1@x", 1},
		{"reply", ThreadHeaders{MessageID: "<m3@x>", InReplyTo: "<m2@x>", References: "<m1@x> <m2@x>"}, "m1@x", "m3@x", 3},
		{"reply without references", ThreadHeaders{MessageID: "<m2@x>", InReplyTo: "<m1@x>"}, "m1@x", "m2@x", 2},
		{"no ids", ThreadHeaders{}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.h.Root(); got != tc.root {
				t.Errorf("Root = %q, want %q", got, tc.root)
			}
			all := tc.h.All()
			if len(all) != tc.all || (len(all) > 0 && all[0] != tc.allFirst) {
				t.Errorf("All = %q, want %d ids starting with %q", all, tc.all, tc.allFirst)
			}
		})
	}
	if ConversationID("support", "m1@x") != ConversationID("support", "m1@x") ||
		ConversationID("support", "m1@x") == ConversationID("sales", "m1@x") {
		t.Error("ConversationID must be deterministic and differ per inbox")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := func(f func(*Inbox)) Inbox {
		c := ib
		c.Members = slices.Clone(ib.Members)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		err  error
	}{
		{"tenant ok", Tenant{Domain: "example.com"}.Validate()},
		{"inbox ok", ib.Validate()},
	}
	for _, tc := range tests {
		if tc.err != nil {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	invalid := []struct {
		name string
		err  error
	}{
		{"tenant upper case", Tenant{Domain: "Example.com"}.Validate()},
		{"tenant no dot", Tenant{Domain: "localhost"}.Validate()},
		{"inbox id", bad(func(i *Inbox) { i.ID = "Sup port" }).Validate()},
		{"inbox address outside domain", bad(func(i *Inbox) { i.Address = "support@other.example" }).Validate()},
		{"inbox address not normalized", bad(func(i *Inbox) { i.Address = "Support@example.com" }).Validate()},
		{"inbox no name", bad(func(i *Inbox) { i.Name = " " }).Validate()},
		{"member role", bad(func(i *Inbox) { i.Members[0].Role = "owner" }).Validate()},
		{"member twice", bad(func(i *Inbox) { i.Members[1].Email = "alice@example.com" }).Validate()},
		{"member not an address", bad(func(i *Inbox) { i.Members[1].Email = "bob" }).Validate()},
	}
	for _, tc := range invalid {
		if !errors.Is(tc.err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, tc.err)
		}
	}
}

func TestConversationChanges(t *testing.T) {
	t.Parallel()
	c, created, err := NewConversation(ib, "<root@x>", "  ", "Dana <DANA@x.example>", "Dana", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "" || c.Customer != "dana@x.example" || c.Version != 1 || c.Status != StatusOpen || created.Kind != ActCreated || created.Version != 1 {
		t.Fatalf("new conversation = %+v, %+v", c, created)
	}
	steps := []struct {
		name    string
		change  func(*Conversation) (Activity, error)
		wantErr error
		kind    ActivityKind
	}{
		{"assign", func(c *Conversation) (Activity, error) {
			return c.Assign(ib, "alice@example.com", "bob@example.com", t0)
		}, nil, ActAssigned},
		{"assign again", func(c *Conversation) (Activity, error) {
			return c.Assign(ib, "alice@example.com", "BOB@example.com", t0)
		}, ErrUnchanged, ""},
		{"assign non-member", func(c *Conversation) (Activity, error) { return c.Assign(ib, "alice@example.com", "eve@x", t0) }, ErrInvalid, ""},
		{"unassign", func(c *Conversation) (Activity, error) { return c.Unassign("bob@example.com", t0) }, nil, ActUnassigned},
		{"unassign again", func(c *Conversation) (Activity, error) { return c.Unassign("bob@example.com", t0) }, ErrUnchanged, ""},
		{"status", func(c *Conversation) (Activity, error) { return c.SetStatus("bob@example.com", StatusClosed, t0) }, nil, ActStatus},
		{"status same", func(c *Conversation) (Activity, error) { return c.SetStatus("bob@example.com", StatusClosed, t0) }, ErrUnchanged, ""},
		{"status unknown", func(c *Conversation) (Activity, error) { return c.SetStatus("bob@example.com", "gone", t0) }, ErrInvalid, ""},
		{"tag", func(c *Conversation) (Activity, error) { return c.AddTag("bob@example.com", " Urgent  Now ", t0) }, nil, ActTagged},
		{"tag twice", func(c *Conversation) (Activity, error) { return c.AddTag("bob@example.com", "urgent now", t0) }, ErrUnchanged, ""},
		{"tag bad", func(c *Conversation) (Activity, error) { return c.AddTag("bob@example.com", "<b>", t0) }, ErrInvalid, ""},
		{"untag", func(c *Conversation) (Activity, error) { return c.RemoveTag("bob@example.com", "URGENT now", t0) }, nil, ActUntagged},
		{"untag missing", func(c *Conversation) (Activity, error) { return c.RemoveTag("bob@example.com", "x", t0) }, ErrUnchanged, ""},
	}
	for _, st := range steps {
		before := c.Version
		ev, err := st.change(&c)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if err != nil {
			if c.Version != before {
				t.Fatalf("%s: failed change bumped the version", st.name)
			}
			continue
		}
		if c.Version != before+1 || ev.Version != c.Version || ev.Kind != st.kind || ev.ConversationID != c.ID {
			t.Fatalf("%s: version %d→%d, activity %+v", st.name, before, c.Version, ev)
		}
	}
	for range MaxTags {
		_, _ = c.AddTag("bob@example.com", NewID(t0)[10:], t0)
	}
	if _, err := c.AddTag("bob@example.com", "one-too-many", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("tag %d: err = %v, want ErrInvalid", MaxTags+1, err)
	}
}

func TestNewNote(t *testing.T) {
	t.Parallel()
	c, _, _ := NewConversation(ib, "root@x", "S", "c@x", "", t0, t0)
	for _, body := range []string{"", "  \n ", strings.Repeat("ä", MaxNoteLength+1), "\xff\xfe"} {
		if _, err := NewNote(c, "bob@example.com", body, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewNote(%q…) err = %v, want ErrInvalid", body[:min(len(body), 5)], err)
		}
	}
	n, err := NewNote(c, "bob@example.com", "  ok  ", t0)
	if err != nil || n.Body != "ok" || n.ConversationID != c.ID {
		t.Fatalf("NewNote = %+v, %v", n, err)
	}
	if ev := c.NoteActivity(n); ev.Version != 0 || ev.Kind != ActNoted {
		t.Errorf("note activity = %+v; notes must not carry a version", ev)
	}
}

func TestNewIDSortsInCreationOrder(t *testing.T) {
	t.Parallel()
	prev := ""
	for range 1000 {
		id := NewID(t0) // a clock that stands still
		if id <= prev {
			t.Fatalf("id %s after %s", id, prev)
		}
		prev = id
	}
}
