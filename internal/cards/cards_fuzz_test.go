package cards

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/report"
)

// fuzzCards is the fuzzed data every builder is fed: what a stored
// conversation, inbox or note may hold, unchecked (a store keeps what it
// was given; an older version may have let anything through).
type fuzzCards struct {
	subject, name, email, tag, note, status, extra string
	n                                              uint64
}

func (in fuzzCards) size() int {
	return len(in.subject) + len(in.name) + len(in.email) + len(in.tag) + len(in.note) + len(in.status) + len(in.extra)
}

// bit reports bit i of the fuzzed flags.
func (in fuzzCards) bit(i int) bool { return in.n>>i&1 == 1 }

// world builds an inbox, a conversation in it and its view from in.
func (in fuzzCards) world() (inbox.Inbox, desk.View) {
	at := now.Add(-time.Duration(in.n%(1<<20)) * time.Minute)
	ib := inbox.Inbox{TenantID: "example.com", ID: "support", Address: "support@example.com", Name: in.extra,
		Members: []inbox.Member{
			{Email: "alice@example.com", Name: in.name, Role: inbox.RoleAdmin},
			{Email: in.email, Name: in.name, Role: inbox.RoleAgent},
			{Email: "carol@example.com", Role: inbox.RoleAgent},
		}}
	ib.Settings.LabelPrefix = in.tag
	ib.Settings.ReplyStatus = inbox.Status(in.status)
	ib.Settings.Language = in.extra
	ib.Settings.Workflow.Statuses = []inbox.StatusDef{
		{ID: "open", Category: inbox.StatusOpen},
		{ID: in.status, Name: in.status, Category: inbox.StatusPending},
		{ID: "closed", Name: in.name, Category: inbox.StatusClosed},
	}
	ib.Settings.Workflow.Rules = []inbox.Rule{{ID: in.tag, Name: in.status, Disabled: in.bit(1),
		Conditions: []inbox.Condition{{Field: inbox.FieldFrom, Value: in.email}, {Field: inbox.FieldSubject, Value: in.subject}, {Field: inbox.Field(in.extra), Value: in.note}, {Field: inbox.FieldAttachment}},
		Actions: []inbox.Action{{Kind: inbox.ActionTag, Value: in.tag}, {Kind: inbox.ActionAssign, Value: in.email}, {Kind: inbox.ActionStatus, Value: in.status},
			{Kind: inbox.ActionAutoAssign}, {Kind: inbox.ActionStop}, {Kind: inbox.ActionKind(in.extra), Value: in.name}}}}
	ib.Settings.Workflow.Assignment = inbox.Assignment{Mode: inbox.AssignMode(in.extra), Agents: []string{in.email, "carol@example.com"},
		Away: []string{in.email}, Capacity: int(in.n % 1000), ReassignAfterHours: int(in.n % 77)}
	if in.bit(2) {
		ib.Settings.Workflow.SLA = inbox.SLAPolicy{FirstResponse: time.Duration(in.n%100) * time.Hour, Resolution: time.Duration(in.n%1000) * time.Minute,
			AtRisk: int(in.n % 101), Hours: inbox.BusinessHours{Zone: in.extra, Holidays: []string{in.tag, "2026-12-24"},
				Week: [7][]inbox.Span{1: {{Start: 9 * 60, End: 17 * 60}}}}}
	}
	me := ib.Members[int(in.n%3)]
	c := inbox.Conversation{
		TenantID: "example.com", ID: "c" + in.tag, InboxID: "support", RootMessageID: in.note,
		Subject: in.subject, Customer: in.email, CustomerName: in.name,
		Status:    []inbox.Status{inbox.StatusOpen, inbox.StatusPending, inbox.StatusClosed, inbox.Status(in.status)}[in.n%4],
		Assignee:  []string{"", in.email, "alice@example.com", in.name}[in.n>>2%4],
		Tags:      []string{in.tag, in.subject, in.status},
		CreatedAt: at, LastMessageAt: at.Add(time.Minute), Version: int64(in.n%1000) + 1,
		Flow: inbox.Flow{Stage: in.status, AutoVia: inbox.ViaRule(inbox.Rule{ID: in.tag, Name: in.name}), AutoAssigned: in.bit(3)},
	}
	if in.bit(4) {
		c.Flow.SnoozedUntil = now.Add(time.Duration(in.n%1000) * time.Hour)
	}
	if in.bit(5) {
		c.FirstResponseAt = at.Add(time.Hour)
	}
	if in.bit(2) {
		c.Flow.SLA = inbox.SLAState{Tracked: true, OpenSince: at, Spent: time.Duration(in.n%5000) * time.Minute,
			FirstAtRisk: at.Add(time.Hour), ResolutionBreached: now}
	}
	note := inbox.Note{TenantID: "example.com", ConversationID: c.ID, ID: in.tag, Author: []string{me.Email, in.email}[in.n%2],
		Body: in.note, Mentions: []string{in.email, "carol@example.com"}, CreatedAt: at, EditedAt: now}
	var activity []inbox.Activity
	for i, k := range fuzzKinds(in) {
		activity = append(activity, inbox.Activity{Actor: []string{"", in.email, "alice@example.com"}[i%3], Kind: k,
			From: []string{in.status, in.name, in.subject + ":" + in.status}[i%3], To: []string{in.tag, in.email, "pending:" + in.status, in.note}[i%4],
			At: at.Add(time.Duration(i) * time.Second), Version: int64(i + 1)})
	}
	v := desk.View{Inbox: ib, Me: me, Conversation: c, Notes: []inbox.Note{note, {Author: in.email, Body: in.subject, CreatedAt: at}},
		Activity: activity, Now: now,
		Presence: inbox.Presence{Viewers: []inbox.Viewer{{Email: in.email, Seen: now, Until: now.Add(time.Minute)}},
			Claim:     inbox.Claim{Holder: []string{in.email, me.Email}[in.n>>6%2], Since: now.Add(-time.Minute), Until: now.Add(time.Minute)},
			TakenOver: inbox.TakeOver{From: me.Email, By: in.email, At: now}, LastReply: inbox.TeamReply{By: in.email, At: now, InReplyTo: in.note}},
		ReplyFrom: desk.Msg(in.extra, "Address", in.email),
	}
	if in.bit(7) {
		v.Collision = activity[:min(len(activity), 3)]
	}
	return ib, v
}

// fuzzKinds are every activity kind the log knows and one made up.
func fuzzKinds(in fuzzCards) []inbox.ActivityKind {
	return []inbox.ActivityKind{inbox.ActCreated, inbox.ActAssigned, inbox.ActUnassigned, inbox.ActStatus, inbox.ActTagged,
		inbox.ActUntagged, inbox.ActNoted, inbox.ActNoteEdited, inbox.ActNoteDeleted, inbox.ActReopened, inbox.ActReplyTakenOver,
		inbox.ActRepliedDuringClaim, inbox.ActDoubleReply, inbox.ActSLAAtRisk, inbox.ActSLABreached, inbox.ActSnoozed,
		inbox.ActWoke, inbox.ActUnsnoozed, inbox.ActivityKind(in.extra)}
}

// fuzzOut is what a builder returned: a card or plain text.
type fuzzOut struct {
	card *cardpb.Card
	text []string
}

// fuzzBuilders calls every exported builder of Builder with the fuzzed
// world, by name; TestFuzzCardsCoversEveryBuilder keeps the list honest.
var fuzzBuilders = map[string]func(b Builder, in fuzzCards) []fuzzOut{
	"Conversation": func(b Builder, in fuzzCards) []fuzzOut {
		_, v := in.world()
		return []fuzzOut{{card: b.Conversation(v)}}
	},
	"NotInInbox": func(b Builder, in fuzzCards) []fuzzOut { return []fuzzOut{{card: b.NotInInbox(in.subject)}} },
	"Home": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		mb := inbox.Mailbox{Address: in.email, LastError: in.extra, Problem: inbox.MailboxProblem(in.status)}
		h := desk.Home{Tenant: inbox.Tenant{Domain: in.tag, Admins: []string{in.email}}, User: desk.User{Email: in.email, Domain: in.tag},
			Inboxes: []desk.InboxSummary{{Inbox: ib, Me: v.Me, Counts: map[desk.Filter]int{desk.FilterOpen: int(in.n % 10000), desk.Filter(in.status): 3}}},
			Admin:   in.bit(0), Problems: []inbox.Mailbox{mb}, Mailbox: &mb, Mentions: fuzzMentions(in, ib)}
		return []fuzzOut{{card: b.Home(h)}, {card: b.Home(desk.Home{User: h.User})}}
	},
	"List": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		other := v.Conversation
		other.Subject, other.CustomerName, other.Customer = in.note, in.extra, ""
		return []fuzzOut{{card: b.List(desk.List{Inbox: ib, Me: v.Me, Filter: desk.Filter(in.status), Now: now,
			Conversations: []inbox.Conversation{v.Conversation, other}, NextCursor: in.extra})}}
	},
	"Note": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		return []fuzzOut{{card: b.Note(desk.NoteView{Inbox: ib, Me: v.Me, Conversation: v.Conversation, Note: v.Notes[0], History: v.Activity, Now: now})}}
	},
	"RateLimited": func(b Builder, in fuzzCards) []fuzzOut {
		return []fuzzOut{{card: b.RateLimited(int(int32(in.n)))}}
	},
	"Mentions": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		return []fuzzOut{{card: b.Mentions(fuzzMentions(in, ib))}}
	},
	"MentionMail": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		s, t := b.MentionMail(desk.MentionNotice{Inbox: ib, Conversation: v.Conversation, Note: v.Notes[0], Recipient: in.email, AuthorName: in.name})
		return []fuzzOut{{text: []string{s, t}}}
	},
	"SLAMail": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		s, t := b.SLAMail(desk.SLANotice{Inbox: ib, Conversation: v.Conversation, Recipient: in.email,
			Threshold: inbox.SLAThreshold{Clock: inbox.SLAClock(in.status), Breached: in.bit(0)}})
		return []fuzzOut{{text: []string{s, t}}}
	},
	"SLAPolicy": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		return []fuzzOut{{card: b.SLAPolicy(ib)}}
	},
	"Statuses": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		return []fuzzOut{{card: b.Statuses(ib)}}
	},
	"StatusRemove": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		return []fuzzOut{{card: b.StatusRemove(ib, in.status)}, {card: b.StatusRemove(ib, in.tag)}}
	},
	"Templates": func(b Builder, in fuzzCards) []fuzzOut {
		return []fuzzOut{{card: b.Templates(fuzzTemplates(in))}}
	},
	"TemplateEdit": func(b Builder, in fuzzCards) []fuzzOut {
		ts := fuzzTemplates(in)
		return []fuzzOut{{card: b.TemplateEdit(ts, &ts.Templates[0])}, {card: b.TemplateEdit(ts, nil)}}
	},
	"Compose": func(b Builder, in fuzzCards) []fuzzOut {
		_, v := in.world()
		ts := fuzzTemplates(in)
		return []fuzzOut{
			{card: b.Compose(desk.Compose{Inboxes: []desk.Templates{ts, ts}, Matched: in.bit(0), Conversation: &v.Conversation, Customer: in.email})},
			{card: b.Compose(desk.Compose{Inboxes: []desk.Templates{ts}, Customer: in.name})},
		}
	},
	"Rules": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		return []fuzzOut{{card: b.Rules(desk.Workflow{Inbox: ib, Me: v.Me})}}
	},
	"RuleEdit": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		w := desk.Workflow{Inbox: ib, Me: v.Me}
		return []fuzzOut{{card: b.RuleEdit(w, &ib.Settings.Workflow.Rules[0])}, {card: b.RuleEdit(w, nil)}}
	},
	"Report": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		d := time.Duration(in.n%(1<<40)) * time.Second
		r := report.Report{TenantID: "example.com", InboxID: ib.ID, InboxName: in.name, Period: report.LastDays(now, 7, time.UTC),
			Received: int(in.n % 100000), FirstResponse: report.Durations{Count: 3, Median: d, P90: 2 * d}, Resolution: report.Durations{Count: int(in.n % 7)},
			Agents:      []report.Agent{{Email: in.email, Name: in.name, Assigned: 2, Closed: 1, Replied: int(in.n % 13)}, {Email: "alice@example.com", Name: in.extra}},
			SLABreaches: int(in.n % 5), RuleHits: 2, ReceivedPerDay: []int{1, 2, 3, 4, 5, 6, 7}, ResolvedPerDay: []int{0, 0, 1, 0, 0, 0, 0}, Partial: in.bit(0)}
		// The chart URL is the server's own signed link, not stored text.
		return []fuzzOut{{card: b.Report(desk.ReportView{Inbox: ib, Days: int(in.n % 100), Report: r}, "https://postfach.example.com/chart?c="+url.QueryEscape(in.extra))}}
	},
	"Settings": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		st := desk.Settings{Tenant: inbox.Tenant{Domain: in.tag, Admins: []string{in.email, "alice@example.com"}}, User: desk.User{Email: in.email, Domain: in.tag},
			Language: in.status, Admin: in.bit(0), Inboxes: []inbox.Inbox{ib},
			Mailboxes: []inbox.Mailbox{{Address: in.email, LastError: in.extra, Problem: inbox.MailboxProblem(in.status)}, {Address: in.name, Problem: inbox.ProblemConsentRevoked}}}
		return []fuzzOut{{card: b.Settings(st)}, {card: b.Settings(desk.Settings{Tenant: st.Tenant, User: st.User, Admin: true, Inboxes: st.Inboxes})}}
	},
	"InboxSettings": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		return []fuzzOut{{card: b.InboxSettings(ib)}}
	},
	"ConfirmDelete": func(b Builder, in fuzzCards) []fuzzOut {
		ib, _ := in.world()
		return []fuzzOut{{card: b.ConfirmDelete(ib)}}
	},
	"Fix": func(b Builder, in fuzzCards) []fuzzOut {
		return []fuzzOut{{text: []string{b.Fix(inbox.Mailbox{Address: in.email, LastError: in.extra, Problem: inbox.MailboxProblem(in.status)})}}}
	},
	"Message": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		var out []string
		for _, a := range v.Activity {
			out = append(out, b.Message(desk.Message{ID: "notice.unchanged", Activity: &a}, ib.DisplayName), b.Message(desk.Message{Activity: &a}, ib.DisplayName))
		}
		out = append(out, b.Message(desk.Msg(in.extra, "Name", in.name, "Count", int(in.n%1000)), ib.DisplayName),
			b.Message(desk.Msg("statuses.notice.added", "Name", in.status), nil))
		return []fuzzOut{{text: out}}
	},
	"Describe": func(b Builder, in fuzzCards) []fuzzOut {
		ib, v := in.world()
		var out []string
		for _, a := range v.Activity {
			out = append(out, b.Describe(a, ib.DisplayName))
		}
		return []fuzzOut{{text: out}}
	},
	"Error": func(b Builder, in fuzzCards) []fuzzOut { return []fuzzOut{{card: b.Error(in.subject, in.note)}} },
	"ErrorCard": func(b Builder, in fuzzCards) []fuzzOut {
		return []fuzzOut{{card: b.ErrorCard(in.status, in.extra)}, {card: b.ErrorCard("error.title", "error.detail")}}
	},
	"NotInstalled": func(b Builder, in fuzzCards) []fuzzOut { return []fuzzOut{{card: b.NotInstalled(in.tag)}} },
}

func fuzzMentions(in fuzzCards, ib inbox.Inbox) desk.MentionList {
	return desk.MentionList{Inboxes: map[string]inbox.Inbox{"support": ib}, Now: now, More: in.bit(0), Mentions: []inbox.Mention{
		{TenantID: "example.com", Recipient: in.email, NoteID: in.tag, ConversationID: "c1", InboxID: "support", Author: in.email,
			Subject: in.subject, Excerpt: in.note, At: now.Add(-time.Duration(in.n%100000) * time.Minute)},
		{InboxID: in.extra, Author: in.name, Subject: in.status, Excerpt: in.subject, At: now, ReadAt: now},
	}}
}

func fuzzTemplates(in fuzzCards) desk.Templates {
	ib, v := in.world()
	return desk.Templates{Inbox: ib, Me: v.Me, Admin: in.bit(0), Templates: []inbox.Template{
		{TenantID: "example.com", InboxID: "support", ID: in.tag, Name: in.name, Body: in.note, Locked: in.bit(1)},
		{ID: in.status, Name: in.subject, Body: in.extra},
	}}
}

// FuzzCards feeds every card builder (both languages) a conversation,
// inbox, notes, activity and templates made of fuzzed text. Nothing may
// panic; every card marshals with protojson,
// keeps the documented limits (checkLimits) and stays within a size
// proportional to its input; every text in it, and every text a builder
// returns, is valid UTF-8 without bidi formatting characters.
func FuzzCards(f *testing.F) {
	f.Add("Refund <script>", "Dana <b>F</b>", "dana@fischer.example", "vip", "@bob check it", "waiting-3rd", "Support", uint64(0))
	f.Add("\u202eexe.pdf", "\u2066Mallory\u2069", "\u202e@evil.example", "\xff\xfe", "\x00\x01\x1b[31m\r\n", "pending", "=?x-bogus?B?AAAA?=", uint64(0xffffffffffffffff))
	f.Add("\xed\xa0\x80\xed\xbf\xbf", "\xc0\xaf", "", "", "", "", "", uint64(1<<7|1<<4|1<<2))
	f.Add(strings.Repeat("Ä", 2000), strings.Repeat("n", 500), strings.Repeat("e", 300)+"@x", strings.Repeat("t", 100), strings.Repeat("note ", 1000), strings.Repeat("s", 100), strings.Repeat("\u202e", 100), uint64(12345))
	f.Add("{{customer.name}}", "{{", "a@b", "closed", "}}{{agent.name}}", "open", "statuses.notice.added", uint64(3))
	f.Fuzz(func(t *testing.T, subject, name, email, tag, note, status, extra string, n uint64) {
		// Each text is cut to 4 KiB, eight times what the product keeps
		// of a subject, to keep an input's work small.
		cut := func(s string) string { return s[:min(len(s), 4<<10)] }
		in := fuzzCards{subject: cut(subject), name: cut(name), email: cut(email), tag: cut(tag), note: cut(note),
			status: cut(status), extra: cut(extra), n: n}
		limit := 64<<10 + 64*in.size()
		for _, lang := range i18n.Langs {
			bl := b.For(i18n.NewPrinter(lang, time.FixedZone("", int(n%(26*3600))-13*3600)))
			for name, build := range fuzzBuilders {
				for _, out := range build(bl, in) {
					for _, s := range out.text {
						checkText(t, name, s)
					}
					if out.card != nil {
						checkCard(t, name, out.card, limit)
					}
				}
			}
		}
	})
}

// checkCard: marshals (TestScreensGolden parses the golden screens back
// strictly), keeps the limits and the size bound, and holds only clean
// text.
func checkCard(t *testing.T, name string, c *cardpb.Card, limit int) {
	t.Helper()
	got, err := protojson.Marshal(c)
	if err != nil {
		t.Fatalf("%s: card does not marshal: %v", name, err)
	}
	if len(got) > limit {
		t.Fatalf("%s: card is %d bytes, more than %d for this input", name, len(got), limit)
	}
	checkLimits(t, c)
	if t.Failed() {
		t.FailNow()
	}
	walkStrings(c.ProtoReflect(), func(fd protoreflect.FieldDescriptor, s string) {
		if machineFields[fd.FullName()] {
			// Sent back, never shown: it must name the stored value
			// exactly (protojson has checked its UTF-8).
			return
		}
		checkText(t, name+" "+string(fd.FullName()), s)
	})
}

// machineFields are the card fields Gmail sends back or follows and never
// shows: action parameters, selection values, input names, URLs.
var machineFields = map[protoreflect.FullName]bool{
	"google.apps.card.v1.Action.function":                    true,
	"google.apps.card.v1.Action.ActionParameter.key":         true,
	"google.apps.card.v1.Action.ActionParameter.value":       true,
	"google.apps.card.v1.SelectionInput.SelectionItem.value": true,
	"google.apps.card.v1.SelectionInput.name":                true,
	"google.apps.card.v1.TextInput.name":                     true,
	"google.apps.card.v1.DateTimePicker.name":                true,
	"google.apps.card.v1.OpenLink.url":                       true,
	"google.apps.card.v1.Image.image_url":                    true,
	"google.apps.card.v1.Icon.icon_url":                      true,
	"google.apps.card.v1.Card.name":                          true,
}

// checkText: valid UTF-8 without bidi formatting characters.
func checkText(t *testing.T, name, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s: invalid UTF-8 in %q", name, s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' }); i >= 0 {
		t.Fatalf("%s: bidi formatting character in %q", name, s)
	}
}

// walkStrings calls f with every string field of m, recursively, and the
// field's name.
func walkStrings(m protoreflect.Message, f func(field protoreflect.FieldDescriptor, s string)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				walkValue(fd, l.Get(i), f)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				f(fd.MapKey(), k.String())
				walkValue(fd.MapValue(), mv, f)
				return true
			})
		default:
			walkValue(fd, v, f)
		}
		return true
	})
}

func walkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, f func(protoreflect.FieldDescriptor, string)) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		f(fd, v.String())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		walkStrings(v.Message(), f)
	}
}

// TestFuzzCardsCoversEveryBuilder: FuzzCards calls every exported method
// of Builder that builds a card or a text, so a new builder cannot be
// left out of it.
func TestFuzzCardsCoversEveryBuilder(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[Builder]()
	var missing []string
	for i := range typ.NumMethod() {
		m := typ.Method(i).Name
		if _, ok := fuzzBuilders[m]; !ok && m != "For" {
			missing = append(missing, m)
		}
	}
	for m := range fuzzBuilders {
		if _, ok := typ.MethodByName(m); !ok {
			missing = append(missing, m+" (gone)")
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("FuzzCards does not call %v: add them to fuzzBuilders", missing)
	}
}

// TestStoredTextIsSafe keeps what FuzzCards found: stored text reached a
// card header, a text input's value or hint, a toast (Message, Describe)
// and the notification mails unchecked, so invalid UTF-8 failed the whole
// card (protojson refuses it: the screen was a server error) and bidi
// formatting characters reordered what the user read.
func TestStoredTextIsSafe(t *testing.T) {
	t.Parallel()
	bad := "\u202eevil\u2066 \xff\r\nBcc: x@y"
	hostile := ib
	hostile.Address = "\u202e@example.com"
	c := conv()
	c.Subject = bad
	tests := []struct {
		name  string
		card  *cardpb.Card
		texts []string
	}{
		{"home header", b.Home(desk.Home{User: desk.User{Email: "\u202e@example.com"}}), nil},
		{"settings hint", b.Settings(desk.Settings{Tenant: inbox.Tenant{Domain: "\xffexample.com"}, Admin: true}), nil},
		{"inbox settings header", b.InboxSettings(hostile), nil},
		{"confirm delete header", b.ConfirmDelete(hostile), nil},
		{"list header", b.List(desk.List{Inbox: hostile, Filter: desk.FilterOpen, Now: now}), nil},
		{"not installed", b.NotInstalled("\u202eexample.com"), nil},
		{"note edit value", b.Note(desk.NoteView{Inbox: ib, Me: ib.Members[1], Conversation: conv(), Now: now,
			Note: inbox.Note{ID: "n1", Author: "bob@example.com", Body: bad, CreatedAt: now}}), nil},
		{"template values", b.TemplateEdit(templates(true), &inbox.Template{ID: "t9", Name: bad, Body: bad}), nil},
		{"rule edit selection value", func() *cardpb.Card {
			odd := ib
			odd.Members = append(slices.Clone(ib.Members), inbox.Member{Email: "\xed\xa0\x80@example.com", Role: inbox.RoleAgent})
			return b.RuleEdit(desk.Workflow{Inbox: odd, Me: odd.Members[0]}, nil)
		}(), nil},
		{"status input name", func() *cardpb.Card {
			odd := statusInbox()
			odd.Settings.Workflow.Statuses[2].ID = "\xffwaiting"
			return b.Statuses(odd)
		}(), nil},
		{"toast", nil, []string{
			b.Message(desk.Message{Activity: &inbox.Activity{Actor: "bob@example.com", Kind: inbox.ActTagged, To: bad}}, ib.DisplayName),
			b.Describe(inbox.Activity{Actor: bad, Kind: inbox.ActUntagged, From: bad}, nil),
		}},
		{"mention mail", nil, func() []string {
			s, body := b.MentionMail(desk.MentionNotice{Inbox: hostile, Conversation: c, Note: inbox.Note{Body: bad + "\nline two"}, AuthorName: bad})
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("mention mail subject %q is not one line", s)
			}
			return []string{s, body}
		}()},
		{"sla mail", nil, func() []string {
			s, body := b.SLAMail(desk.SLANotice{Inbox: hostile, Conversation: c, Threshold: inbox.SLAThreshold{Clock: inbox.SLAClock("first"), Breached: true}})
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("SLA mail subject %q is not one line", s)
			}
			return []string{s, body}
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.card != nil {
				checkCard(t, tc.name, tc.card, 1<<20)
			}
			for _, s := range tc.texts {
				checkText(t, tc.name, s)
			}
		})
	}
}

// TestHomeProblemsNeedAnError keeps what FuzzCards found: Home given
// mailbox problems none of which has an error (desk passes only those
// with one, but Home did not check) showed an empty "Needs attention"
// section, which breaks Google's card limits.
func TestHomeProblemsNeedAnError(t *testing.T) {
	t.Parallel()
	h := desk.Home{Tenant: inbox.Tenant{Domain: "example.com"}, User: desk.User{Email: "alice@example.com", Domain: "example.com"},
		Admin: true, Problems: []inbox.Mailbox{{Address: "bob@example.com", Problem: inbox.ProblemConsentRevoked}}}
	checkCard(t, "home", b.Home(h), 1<<20)
}
