package cards

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ib  = inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: "Support", Members: []inbox.Member{
		{Email: "alice@example.com", Name: "Alice", Role: inbox.RoleAdmin},
		{Email: "bob@example.com", Name: "Bob", Role: inbox.RoleAgent},
		{Email: "carol@example.com", Role: inbox.RoleAgent},
	}}
	b = Builder{ActionURL: "https://postfach.example.com/addon/action"}
)

func conv() inbox.Conversation {
	return inbox.Conversation{
		TenantID: "example.com", ID: "c0123", InboxID: "support", RootMessageID: "root@mail.example.net",
		Subject: "Refund <script>alert(1)</script> & more", Customer: "dana@fischer.example", CustomerName: "Dana <b>F</b>",
		Status: inbox.StatusOpen, Assignee: "bob@example.com", Tags: []string{"billing", "vip"},
		CreatedAt: now.Add(-time.Hour), LastMessageAt: now.Add(-20 * time.Minute), Version: 4,
	}
}

func view() desk.View {
	c := conv()
	return desk.View{
		Inbox: ib, Me: ib.Members[2], Conversation: c, Now: now,
		Notes: []inbox.Note{
			{TenantID: "example.com", ConversationID: c.ID, ID: "n2", Author: "carol@example.com", Body: "@bob can you check the invoice?",
				Mentions: []string{"bob@example.com"}, CreatedAt: now.Add(-2 * time.Minute), EditedAt: now.Add(-time.Minute)},
			{TenantID: "example.com", ConversationID: c.ID, ID: "n1", Author: "bob@example.com", Body: "Asked <eng> about it", CreatedAt: now.Add(-3 * time.Minute)},
		},
		Activity: []inbox.Activity{
			{Actor: "bob@example.com", Kind: inbox.ActAssigned, To: "bob@example.com", At: now.Add(-20 * time.Second), Version: 4},
			{Kind: inbox.ActCreated, At: now.Add(-time.Hour), Version: 1},
		},
	}
}

// screens is every card the sidebar can show.
func screens() map[string]*cardpb.Card {
	collided := view()
	collided.Collision = collided.Activity[:1]
	mine := view()
	mine.Me = ib.Members[1]
	mine.Conversation.FirstResponseAt = mine.Conversation.CreatedAt.Add(12 * time.Minute)
	unassigned := view()
	unassigned.Conversation.Assignee = ""
	unassigned.Conversation.Tags = nil
	unassigned.Conversation.Status = inbox.StatusClosed
	home := desk.Home{
		Tenant: inbox.Tenant{Domain: "example.com"}, User: desk.User{Email: "carol@example.com", Domain: "example.com"},
		Inboxes: []desk.InboxSummary{{Inbox: ib, Me: ib.Members[2], Counts: map[desk.Filter]int{
			desk.FilterUnassigned: 5, desk.FilterMine: 2, desk.FilterOpen: 9, desk.FilterPending: 1,
		}}},
	}
	list := desk.List{Inbox: ib, Me: ib.Members[2], Filter: desk.FilterOpen, Now: now,
		Conversations: []inbox.Conversation{conv(), unassigned.Conversation}, NextCursor: "abc"}
	adminHome := home
	adminHome.Admin = true
	adminHome.Problems = []inbox.Mailbox{{Address: "bob@example.com", LastError: "oauth2: \"invalid_grant\" Token has been expired or revoked.", Problem: inbox.ProblemConsentRevoked}}
	tenant := inbox.Tenant{Domain: "example.com", Admins: []string{"alice@example.com", "carol@example.com"}}
	settings := desk.Settings{Tenant: tenant, User: desk.User{Email: "carol@example.com", Domain: "example.com"}, Admin: true,
		Inboxes:   []inbox.Inbox{ib},
		Mailboxes: append(adminHome.Problems, inbox.Mailbox{Address: "carol@example.com"}, inbox.Mailbox{Address: "x@example.com", LastError: "watch: googleapi: Error 403", Problem: inbox.ProblemWatchRefused})}
	c0 := conv()
	note := view().Notes[0]
	noteView := desk.NoteView{Inbox: ib, Me: ib.Members[2], Conversation: c0, Note: note, Now: now, History: []inbox.Activity{
		{Actor: "carol@example.com", Kind: inbox.ActNoteEdited, From: "@bob can you <check> it?", To: "n2", At: note.EditedAt},
		{Actor: "carol@example.com", Kind: inbox.ActNoted, To: "n2", At: note.CreatedAt},
	}}
	othersNote := noteView
	othersNote.Me = ib.Members[1]
	mentions := desk.MentionList{Inboxes: map[string]inbox.Inbox{"support": ib}, Now: now, More: true, Mentions: []inbox.Mention{
		{TenantID: "example.com", Recipient: "carol@example.com", NoteID: "n3", ConversationID: "c0123", InboxID: "support", Author: "bob@example.com",
			Subject: c0.Subject, Excerpt: "@carol <please> call her back", At: now.Add(-5 * time.Minute)},
		{TenantID: "example.com", Recipient: "carol@example.com", NoteID: "n1", ConversationID: "c0123", InboxID: "support", Author: "alice@example.com",
			Subject: "", Excerpt: "thanks @carol", At: now.Add(-48 * time.Hour), ReadAt: now.Add(-47 * time.Hour)},
	}}
	homeMentions := home
	homeMentions.Mentions = mentions
	homeMentions.Mentions.Mentions = mentions.Mentions[:1]
	custom := ib
	custom.Settings = inbox.InboxSettings{LabelPrefix: "Team", ReplyStatus: "", Language: "de"}
	staged := view()
	staged.Inbox = statusInbox()
	staged.Conversation.Status, staged.Conversation.Flow.Stage = inbox.StatusPending, "waiting-3rd"
	staged.Activity = append([]inbox.Activity{{Actor: "bob@example.com", Kind: inbox.ActStatus, From: "open", To: "pending:Waiting on <supplier>", At: now.Add(-10 * time.Second), Version: 5}}, staged.Activity...)
	return map[string]*cardpb.Card{
		"home_admin":              b.Home(adminHome),
		"home_admin_empty":        b.Home(desk.Home{Tenant: tenant, User: home.User, Admin: true}),
		"settings":                b.Settings(settings),
		"settings_empty":          b.Settings(desk.Settings{Tenant: tenant, User: settings.User, Admin: true}),
		"settings_member":         b.Settings(desk.Settings{Tenant: tenant, User: home.User}),
		"settings_member_de":      b.For(i18n.NewPrinter(i18n.German, time.UTC)).Settings(desk.Settings{Tenant: tenant, User: home.User, Language: "de"}),
		"settings_member_en":      b.Settings(desk.Settings{Tenant: tenant, User: home.User, Language: "en"}),
		"inbox_settings":          b.InboxSettings(ib),
		"inbox_settings_custom":   b.InboxSettings(custom),
		"confirm_delete":          b.ConfirmDelete(ib),
		"home":                    b.Home(home),
		"home_empty":              b.Home(desk.Home{Tenant: inbox.Tenant{Domain: "example.com"}, User: home.User}),
		"list":                    b.List(list),
		"list_empty":              b.List(desk.List{Inbox: ib, Filter: desk.FilterMine, Now: now}),
		"conversation":            b.Conversation(view()),
		"conversation_mine":       b.Conversation(mine),
		"conversation_unassigned": b.Conversation(unassigned),
		"conversation_collision":  b.Conversation(collided),
		"not_in_inbox":            b.NotInInbox("Lunch on Friday?"),
		"note_author":             b.Note(noteView),
		"note_other":              b.Note(othersNote),
		"mentions":                b.Mentions(mentions),
		"mentions_empty":          b.Mentions(desk.MentionList{Now: now}),
		"home_mentions":           b.Home(homeMentions),
		"not_installed":           b.NotInstalled("example.com"),
		"not_workspace":           b.NotInstalled(""),
		"error":                   b.Error("No access", "This conversation is not in any of your shared inboxes."),
		"templates":               b.Templates(templates(false)),
		"templates_empty":         b.Templates(desk.Templates{Inbox: ib, Me: ib.Members[1]}),
		"template_new":            b.TemplateEdit(templates(false), nil),
		"template_edit_admin":     b.TemplateEdit(templates(true), &templates(true).Templates[0]),
		"template_locked":         b.TemplateEdit(templates(false), &templates(false).Templates[0]),
		"compose":                 b.Compose(desk.Compose{Inboxes: []desk.Templates{templates(false)}, Matched: true, Customer: "dana@fischer.example"}),
		"compose_conversation":    b.Compose(desk.Compose{Inboxes: []desk.Templates{templates(false)}, Matched: true, Conversation: &c0}),
		"compose_empty_de":        b.For(i18n.NewPrinter(i18n.German, time.UTC)).Compose(desk.Compose{Inboxes: []desk.Templates{{Inbox: ib, Me: ib.Members[1]}}}),
		"statuses":                b.Statuses(statusInbox()),
		"statuses_builtin_de":     b.For(i18n.NewPrinter(i18n.German, time.UTC)).Statuses(ib),
		"status_remove":           b.StatusRemove(statusInbox(), "waiting-3rd"),
		"conversation_status":     b.Conversation(staged),
		"list_status":             b.List(desk.List{Inbox: statusInbox(), Filter: desk.FilterPending, Now: now, Conversations: []inbox.Conversation{staged.Conversation}}),
	}
}

// statusInbox is Support with statuses of its own: the built-in Open, the
// built-in Pending renamed, a second pending one and a named closed one.
func statusInbox() inbox.Inbox {
	s := ib
	s.Settings.Workflow.Statuses = []inbox.StatusDef{
		{ID: "open", Category: inbox.StatusOpen},
		{ID: "pending", Name: "Waiting on customer", Category: inbox.StatusPending},
		{ID: "waiting-3rd", Name: "Waiting on <supplier>", Category: inbox.StatusPending},
		{ID: "closed", Name: "Done", Category: inbox.StatusClosed},
	}
	return s
}

// templates is Support's templates as an agent (admin false) or an admin
// sees them: a locked one and an open one whose name needs escaping.
func templates(admin bool) desk.Templates {
	me := ib.Members[1]
	if admin {
		me = ib.Members[0]
	}
	return desk.Templates{Inbox: ib, Me: me, Admin: admin, Templates: []inbox.Template{
		{TenantID: "example.com", InboxID: "support", ID: "t1", Name: "Refund sent", Locked: true,
			Body: "Hi {{customer.name}},\n\nwe refunded you ({{conversation.ref}}).\n{{agent.name}}, {{inbox.name}}"},
		{TenantID: "example.com", InboxID: "support", ID: "t2", Name: "<b>Thanks</b> & bye", Body: "Thanks!"},
	}}
}

func TestScreensGolden(t *testing.T) {
	t.Parallel()
	all := screens()
	maps.Copy(all, reportScreens())
	for name, card := range all {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := protojson.Marshal(card)
			if err != nil {
				t.Fatal(err)
			}
			// Strict parse: unknown fields rejected, as Google's parser would.
			var back cardpb.Card
			if err := (protojson.UnmarshalOptions{}).Unmarshal(got, &back); err != nil {
				t.Fatalf("card does not parse strictly: %v", err)
			}
			checkLimits(t, &back)
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, append(pretty.Bytes(), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("card %s differs from %s (-want +got):\n%s", name, path, diff)
			}
		})
	}
}

// checkLimits enforces the documented card limits: at most 100 widgets, 100
// selection items, every section non-empty.
func checkLimits(t *testing.T, c *cardpb.Card) {
	t.Helper()
	widgets := 0
	for i, s := range c.GetSections() {
		if len(s.GetWidgets()) == 0 {
			t.Errorf("section %d has no widget", i)
		}
		for _, w := range s.GetWidgets() {
			widgets++
			if si := w.GetSelectionInput(); si != nil && len(si.GetItems()) > 100 {
				t.Errorf("selection %q has %d items", si.GetName(), len(si.GetItems()))
			}
			if bl := w.GetButtonList(); bl != nil && len(bl.GetButtons()) == 0 {
				t.Errorf("empty button list in section %d", i)
			}
		}
	}
	if widgets > 100 {
		t.Errorf("%d widgets; Google ignores everything past 100", widgets)
	}
}

// TestUntrustedTextIsEscaped checks the fields Gmail renders as simple HTML
// (paragraphs, decorated text, section headers); titles and button labels
// are plain text and shown as typed.
func TestUntrustedTextIsEscaped(t *testing.T) {
	t.Parallel()
	for name, card := range screens() {
		var html []string
		for _, s := range card.GetSections() {
			html = append(html, s.GetHeader())
			for _, w := range s.GetWidgets() {
				dt := w.GetDecoratedText()
				html = append(html, w.GetTextParagraph().GetText(), dt.GetText(), dt.GetTopLabel(), dt.GetBottomLabel())
			}
		}
		all := strings.Join(html, "\n")
		for _, bad := range []string{"<script>", "<eng>", "<b>F</b>"} {
			if strings.Contains(all, bad) {
				t.Errorf("%s: raw %q reached an HTML field", name, bad)
			}
		}
	}
}

func TestConversationActionsCarryVersion(t *testing.T) {
	t.Parallel()
	card := b.Conversation(view())
	n := 0
	walkActions(card, func(a *cardpb.Action) {
		p := map[string]string{}
		for _, kv := range a.GetParameters() {
			p[kv.GetKey()] = kv.GetValue()
		}
		if a.GetFunction() != b.ActionURL {
			t.Errorf("action calls %q, want %q", a.GetFunction(), b.ActionURL)
		}
		if _, err := desk.ParseOp(p[ParamOp]); err == nil {
			n++
			if p[ParamConv] != "c0123" || p[ParamVer] != "4" {
				t.Errorf("op %s carries conv=%q v=%q, want c0123 and 4", p[ParamOp], p[ParamConv], p[ParamVer])
			}
		}
	})
	// assign-me, unassign, assign, 2 statuses, 2 untags, tag, note, and
	// snooze tomorrow, next Monday, until the picked time.
	if n != 12 {
		t.Errorf("%d conversation actions, want 12", n)
	}
}

func walkActions(c *cardpb.Card, f func(*cardpb.Action)) {
	visit := func(o *cardpb.OnClick) {
		if a := o.GetAction(); a != nil {
			f(a)
		}
	}
	for _, s := range c.GetSections() {
		for _, w := range s.GetWidgets() {
			visit(w.GetDecoratedText().GetOnClick())
			visit(w.GetDecoratedText().GetButton().GetOnClick())
			for _, bt := range w.GetButtonList().GetButtons() {
				visit(bt.GetOnClick())
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	ib := inbox.Inbox{Members: []inbox.Member{{Email: "alice@example.com", Name: "Alice"}, {Email: "bob@example.com"}}}
	names := ib.DisplayName
	tests := []struct {
		a      inbox.Activity
		en, de string
	}{
		{inbox.Activity{Actor: "bob@example.com", Kind: inbox.ActAssigned, To: "bob@example.com"}, "bob assigned this to themselves", "bob hat sich das zugewiesen"},
		{inbox.Activity{Actor: "alice@example.com", Kind: inbox.ActAssigned, To: "bob@example.com"}, "Alice assigned this to bob", "Alice hat das bob zugewiesen"},
		{inbox.Activity{Actor: "alice@example.com", Kind: inbox.ActUnassigned, From: "bob@example.com"}, "Alice unassigned bob", "Alice hat die Zuweisung an bob aufgehoben"},
		{inbox.Activity{Actor: "alice@example.com", Kind: inbox.ActStatus, To: "pending"}, "Alice set the status to Pending", "Alice hat den Status auf Wartend gesetzt"},
		{inbox.Activity{Kind: inbox.ActStatus, To: "open"}, "Postfach set the status to Open", "Postfach hat den Status auf Offen gesetzt"},
		{inbox.Activity{Actor: "alice@example.com", Kind: inbox.ActStatus, From: "open", To: "pending:Waiting on supplier"}, "Alice set the status to Waiting on supplier", "Alice hat den Status auf Waiting on supplier gesetzt"},
		{inbox.Activity{Actor: "x@other.example", Kind: inbox.ActTagged, To: "vip"}, "x@other.example added the tag “vip”", "x@other.example hat das Schlagwort „vip“ hinzugefügt"},
	}
	en, de := Builder{}, Builder{P: i18n.NewPrinter(i18n.German, nil)}
	for _, tc := range tests {
		if got := en.Describe(tc.a, names); got != tc.en {
			t.Errorf("Describe = %q, want %q", got, tc.en)
		}
		if got := de.Describe(tc.a, names); got != tc.de {
			t.Errorf("German Describe = %q, want %q", got, tc.de)
		}
	}
}

// protojson varies its whitespace from build to build (detrand), so the
// pattern allows any.
var actionValue = regexp.MustCompile(`\{"key":\s*"value",\s*"value":\s*"[^"]*"\}`)

// TestStoredTextNeverBreaksACard: whatever a stored string holds (invalid
// UTF-8, control and bidi characters), every card still encodes, so a bad
// value can never turn a screen into an HTTP 500.
func TestStoredTextNeverBreaksACard(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, s string }{
		{"invalid UTF-8", "Caf\xe9 \xff\xfe"},
		{"truncated rune", "\xe2\x82"},
		{"controls", "a\x00b\x07c\r\nd\te\x1b[31m"},
		{"bidi override", "Invoice\u202egpj.exe\u2066x\u2069"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := view()
			v.Conversation.Subject = tc.s
			v.Conversation.CustomerName = tc.s
			v.Conversation.Customer = tc.s
			v.Conversation.Tags = []string{tc.s}
			v.Notes[0].Body = tc.s
			v.Inbox.Members = append(slices.Clone(v.Inbox.Members), inbox.Member{Email: "x@example.com", Name: tc.s})
			v.Activity = append(v.Activity, inbox.Activity{Actor: "x@example.com", Kind: inbox.ActTagged, To: tc.s, At: now})
			v.Collision = v.Activity
			list := desk.List{Inbox: v.Inbox, Me: v.Me, Filter: desk.FilterOpen, Now: now, Conversations: []inbox.Conversation{v.Conversation}}
			for name, card := range map[string]*cardpb.Card{
				"conversation": b.Conversation(v),
				"list":         b.List(list),
				"not in inbox": b.NotInInbox(tc.s),
				"error":        b.Error(tc.s, tc.s),
			} {
				js, err := protojson.Marshal(card)
				if err != nil {
					t.Errorf("%s card does not encode: %v", name, err)
					continue
				}
				// Action parameter values go back to the server verbatim.
				shown := actionValue.ReplaceAllString(string(js), "")
				if strings.ContainsAny(shown, "\u202e\u2066\u2069\x00\x07\x1b") {
					t.Errorf("%s card keeps control or bidi characters: %s", name, js)
				}
			}
		})
	}
}

// TestFixFollowsTheProblem: the fix shown for a failing mailbox depends on
// the kind recorded with it, never on the words of its error, which come
// from Google and other people's code.
func TestFixFollowsTheProblem(t *testing.T) {
	t.Parallel()
	const addr = "bob@example.com"
	tests := []struct {
		name      string
		problem   inbox.MailboxProblem
		lastError string
		want      string // a part of the fix
	}{
		{"consent revoked, text says watch", inbox.ProblemConsentRevoked, "watch: users.watch: token refused", "consent was revoked"},
		{"consent revoked, text says delegation", inbox.ProblemConsentRevoked, "delegation of nothing: invalid token", "consent was revoked"},
		{"delegation missing", inbox.ProblemDelegationMissing, "token: oauth2: cannot fetch token: 401", "delegation is missing"},
		{"delegation refused, text says delegation", inbox.ProblemDelegationRefused, "delegation refused for bob@example.com", "refused Postfach's delegated access"},
		{"no access", inbox.ProblemNoAccess, "error 401", "has no access to this mailbox"},
		{"gmail 401", inbox.ProblemGmailUnauthorized, "googleapi: Error 401: Request had invalid authentication credentials.", "checks again at the next sync"},
		{"gmail 403", inbox.ProblemGmailDenied, "googleapi: Error 403: Delegation denied for bob@example.com", "denied Postfach access"},
		{"watch refused, text says revoked", inbox.ProblemWatchRefused, "watch: users.watch: googleapi: Error 403: topic access revoked", "push watch"},
		{"other, text says invalid_grant", inbox.ProblemOther, "sync: invalid_grant in a subject line", "Postfach retries"},
		{"recorded before kinds", "", "oauth2: \"invalid_grant\"", "Postfach retries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Builder{}.Fix(inbox.Mailbox{Address: addr, LastError: tc.lastError, Problem: tc.problem})
			if !strings.Contains(got, tc.want) {
				t.Errorf("Fix = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// A mail without a subject is stored without one; the cards say so in the
// reader's language.
func TestNoSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b    Builder
		want string
	}{{Builder{}, "(no subject)"}, {Builder{P: i18n.NewPrinter(i18n.German, nil)}, "(kein Betreff)"}} {
		b, want := tc.b, tc.want
		if got := b.subject("  "); got != want {
			t.Errorf("subject of a blank one = %q, want %q", got, want)
		}
		if got := b.subject("Hi"); got != "Hi" {
			t.Errorf("subject(Hi) = %q", got)
		}
	}
}
