package httpapi

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// The form fields FuzzFormInputs fills, one per input (the fuzzer picks).
const (
	formNote = iota
	formNoteEdit
	formTag
	formUntag
	formAssign
	formStatus
	formSnoozeValue
	formSnoozePicker
	formTemplate
	formRule
	formAssignment
	formSLA
	formStatusAdd
	formStatusRename
	formList
	formPrefs
	formAdmin
	formOps
	formFields // the count
)

// typedFields are the fields a person types into: refusing one must say
// why in their language (a refusal with a catalog sentence), not only
// that it did not work. The others are dropdowns, buttons and card
// parameters, which only a forged request gets wrong.
var typedFields = map[int]bool{
	formNote: true, formNoteEdit: true, formTag: true, formSnoozePicker: true, formTemplate: true,
	formSLA: true, formStatusRename: true,
}

// formWorld is the desk FuzzFormInputs drives: a real SQLite store (in
// memory) and desk.Service, as `postfach serve` wires them. Every input
// gets an inbox and a conversation of its own, so inputs do not depend on
// one another; the store is opened anew now and then to bound its size.
type formWorld struct {
	mu      sync.Mutex
	store   *sqlitedb.Store
	svc     *desk.Service
	n       int
	catalog map[i18n.Lang]map[string]bool
}

var fuzzForms formWorld

var (
	formNow  = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	formUser = desk.User{Email: "alice@example.com", Domain: "example.com"}
)

// next returns the service and a fresh inbox with one conversation (with
// one note of alice's) for the next input.
func (w *formWorld) next(t *testing.T) (*desk.Service, inbox.Inbox, inbox.Conversation, inbox.Note) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx := context.Background()
	if w.catalog == nil {
		w.catalog = map[i18n.Lang]map[string]bool{}
		for _, l := range i18n.Langs {
			c, err := i18n.Catalog(l)
			if err != nil {
				t.Fatal(err)
			}
			w.catalog[l] = c
		}
	}
	if w.store == nil || w.n%500 == 0 {
		if w.store != nil {
			w.store.Close()
		}
		s, err := sqlitedb.Open(ctx, ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "example.com", Admins: []string{formUser.Email}, CreatedAt: formNow}); err != nil {
			t.Fatal(err)
		}
		w.store = s
		w.svc = desk.New(desk.Options{Store: s, Now: func() time.Time { return formNow }})
	}
	w.n++
	id := "f" + strconv.Itoa(w.n)
	ib := inbox.Inbox{TenantID: "example.com", ID: id, Address: id + "@example.com", Name: "Fuzz " + id, CreatedAt: formNow,
		Members: []inbox.Member{
			{Email: formUser.Email, Name: "Alice", Role: inbox.RoleAdmin},
			{Email: "bob@example.com", Name: "Bob", Role: inbox.RoleAgent},
		}}
	if err := w.store.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	c, ev, err := inbox.NewConversation(ib, "root-"+id+"@customer.example", "Refund", "dana@customer.example", "Dana", formNow, formNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.CreateConversation(ctx, c, []string{c.RootMessageID}, ev); err != nil {
		t.Fatal(err)
	}
	n, err := inbox.NewNote(c, formUser.Email, "first note", formNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.AddNote(ctx, n, c.NoteActivity(n)); err != nil {
		t.Fatal(err)
	}
	return w.svc, ib, c, n
}

// FuzzFormInputs sends fuzzed form inputs and action parameters through
// what the add-on endpoint does with them: the handler's readers
// (actionOf, ruleOf, assignmentOf, snoozePicked, the SLA, status,
// template, prefs and admin forms) and then desk.Service on a real store,
// which validates and writes. The field is the fuzzer's choice. Whatever
// is sent, nothing panics and the answer is either success, after which
// the stored conversation and inbox still validate, or a refusal
// (inbox.ErrInvalid, a 400 for a forged parameter); a refusal of a field
// a person types carries a sentence both catalogs have.
func FuzzFormInputs(f *testing.F) {
	for _, s := range []struct {
		field        uint8
		value, extra string
		ms           int64
	}{
		{formNote, "@bob can you check the invoice?", "", 0},
		{formNote, "", "", 0},
		{formNote, strings.Repeat("x", 20001), "", 0},
		{formNoteEdit, "\u202e@alice \x00 edited", "", 0},
		{formTag, "VIP", "", 0},
		{formTag, "bad tag with spaces and \u202e", "", 0},
		{formTag, "\xed\xa0\x80", "", 0},
		{formUntag, "vip", "", 0},
		{formAssign, "Bob <bob@example.com>", "", 0},
		{formAssign, "mallory@evil.example", "", 0},
		{formStatus, "pending", "", 0},
		{formStatus, "closed:Done", "", 0},
		{formSnoozeValue, "2026-12-02T09:00:00+01:00", "", 0},
		{formSnoozeValue, "2026-13-45T99:99:99Z", "", 0},
		{formSnoozePicker, "", "", 1764666000000},
		{formSnoozePicker, "", "", -62135596800001},
		{formSnoozePicker, "", "", 1 << 62},
		{formTemplate, "Refund sent", "Hi {{customer.name}},\n\n{{agent.name}}", 0},
		{formTemplate, "", "{{unknown}}", 0},
		{formTemplate, strings.Repeat("n", 300), "{{", 0},
		{formRule, "VIP customers", "ceo@customer.example", 0b1011},
		{formRule, "", "", 0},
		{formRule, "\u202e", "Bob@Example.com", 0b0101},
		{formAssignment, "round-robin", "3", 0},
		{formAssignment, "load-balanced", "-1", 1},
		{formAssignment, "bogus", "99999999999999999999", 2},
		{formSLA, "4", "1,5", 0},
		{formSLA, "1e309", "NaN", 1},
		{formSLA, "50%", "Europe/Berlin", 2},
		{formSLA, "2026-12-24, 2026-02-30", "09:00-12:00, 13:00-17:00", 4},
		{formSLA, "24:00-09:00", "Mars/Olympus", 5},
		{formStatusAdd, "Waiting on supplier", "pending", 0},
		{formStatusAdd, "Open", "open", 1},
		{formStatusAdd, "\u2066x\u2069", "bogus", 3},
		{formStatusRename, "Wartend auf Kunde", "", 0},
		{formStatusRename, strings.Repeat("ä", 100), "", 0},
		{formList, "open", "", 0},
		{formList, "mine", "not a cursor", 0},
		{formList, "bogus", "\x00\xff", 0},
		{formPrefs, "de", "", 0},
		{formPrefs, "gmail", "", 0},
		{formPrefs, "xx", "", 0},
		{formAdmin, "Billing", "billing@example.com", 0},
		{formAdmin, "Evil", "billing@other.example", 1},
		{formAdmin, "carol@example.com, dave@example.com", "agent", 3},
		{formAdmin, "Team/", "pending", 6},
		{formOps, "note", "1", 0},
		{formOps, "admin-status-add", "x", 0},
		{formOps, "", "-9223372036854775808", 0},
	} {
		f.Add(s.field, s.value, s.extra, s.ms)
	}
	f.Fuzz(func(t *testing.T, field uint8, value, extra string, ms int64) {
		svc, ib, c, n := fuzzForms.next(t)
		kind := int(field) % formFields
		err := formAction(svc, ib, c, n, kind, value, extra, ms)
		checkFormAnswer(t, kind, value, extra, ms, err)
		// Whatever was written still validates.
		ctx := context.Background()
		got, gerr := fuzzForms.store.GetConversation(ctx, c.TenantID, c.ID)
		if gerr != nil {
			t.Fatalf("conversation after field %d (%q, %q): %v", kind, value, extra, gerr)
		}
		if verr := got.Validate(); verr != nil {
			t.Fatalf("stored conversation no longer validates after field %d (%q, %q): %v", kind, value, extra, verr)
		}
		if bad, ok := invalidUTF8(reflect.ValueOf(got)); ok {
			t.Fatalf("field %d (%q, %q) stored invalid UTF-8 %q in the conversation: Firestore refuses it", kind, value, extra, bad)
		}
		gotIB, gerr := fuzzForms.store.GetInbox(ctx, ib.TenantID, ib.ID)
		if gerr != nil && !errors.Is(gerr, inbox.ErrNotFound) {
			t.Fatalf("inbox after field %d: %v", kind, gerr)
		}
		if gerr == nil {
			if verr := gotIB.Validate(); verr != nil {
				t.Fatalf("stored inbox no longer validates after field %d (%q, %q): %v", kind, value, extra, verr)
			}
			if bad, ok := invalidUTF8(reflect.ValueOf(gotIB)); ok {
				t.Fatalf("field %d (%q, %q) stored invalid UTF-8 %q in the inbox: Firestore refuses it", kind, value, extra, bad)
			}
		}
	})
}

// invalidUTF8 finds a string in v that is not valid UTF-8: the SQLite
// store keeps it, Firestore refuses to (protobuf strings are UTF-8).
func invalidUTF8(v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), !utf8.ValidString(v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			if bad, ok := invalidUTF8(v.Field(i)); ok {
				return bad, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if bad, ok := invalidUTF8(v.Index(i)); ok {
				return bad, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if bad, ok := invalidUTF8(it.Key()); ok {
				return bad, true
			}
			if bad, ok := invalidUTF8(it.Value()); ok {
				return bad, true
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return invalidUTF8(v.Elem())
		}
	}
	return "", false
}

// checkFormAnswer: success, or a refusal; a typed field's refusal is a
// sentence of both catalogs.
func checkFormAnswer(t *testing.T, kind int, value, extra string, ms int64, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if !errors.Is(err, inbox.ErrInvalid) {
		t.Fatalf("field %d (%q, %q, %d): %v is no refusal (the user would see a server error)", kind, value, extra, ms, err)
	}
	r, ok := inbox.RefusalOf(err)
	if !ok {
		if typedFields[kind] {
			t.Fatalf("field %d (%q, %q, %d): typed input refused without a sentence for the user: %v", kind, value, extra, ms, err)
		}
		return
	}
	for l, c := range fuzzForms.catalog {
		if !c[r.ID] {
			t.Fatalf("field %d (%q, %q, %d): refusal %q is not in the %s catalog", kind, value, extra, ms, r.ID, l)
		}
	}
}

// formAction performs one fuzzed form submission as the handler does:
// the same readers, then the same desk call. Errors the handler turns
// into 400 themselves (an unknown op, a bad version) are returned as
// inbox.ErrInvalid.
func formAction(svc *desk.Service, ib inbox.Inbox, c inbox.Conversation, n inbox.Note, kind int, value, extra string, ms int64) error {
	ctx := context.Background()
	conv := func(op desk.Op, params map[string]string, form map[string][]string) error {
		p := map[string]string{cards.ParamOp: string(op), cards.ParamConv: c.ID, cards.ParamVer: strconv.FormatInt(c.Version, 10)}
		for k, v := range params {
			p[k] = v
		}
		ev := addontest.ActionEvent(addontest.Tokens{}, p, form)
		if kind == formSnoozePicker {
			ev.Common.FormInputs = map[string]addon.FormInput{cards.InputSnoozeUntil: {DateTimeInput: &addon.DateTimeInput{MsSinceEpoch: addon.Int64(ms), HasDate: true, HasTime: true}}}
		}
		a, err := actionOf(ev)
		if err != nil {
			return badParam(err)
		}
		_, err = svc.Act(ctx, formUser, a)
		return err
	}
	switch kind {
	case formNote:
		return conv(desk.OpNote, nil, map[string][]string{cards.InputNote: {value}})
	case formNoteEdit:
		return conv(desk.OpEditNote, map[string]string{cards.ParamNote: n.ID}, map[string][]string{cards.InputNoteEdit: {value}})
	case formTag:
		return conv(desk.OpTag, nil, map[string][]string{cards.InputTag: {value}})
	case formUntag:
		return conv(desk.OpUntag, map[string]string{cards.ParamValue: value}, nil)
	case formAssign:
		return conv(desk.OpAssign, nil, map[string][]string{cards.InputAssignee: {value}})
	case formStatus:
		return conv(desk.OpStatus, map[string]string{cards.ParamValue: value}, nil)
	case formSnoozeValue:
		return conv(desk.OpSnooze, map[string]string{cards.ParamValue: value}, nil)
	case formSnoozePicker:
		return conv(desk.OpSnooze, nil, nil)
	case formTemplate:
		ev := addontest.ActionEvent(addontest.Tokens{}, nil, map[string][]string{
			cards.InputTemplateName: {value}, cards.InputTemplateBody: {extra}, cards.InputTemplateLocked: {"locked"}})
		_, err := svc.SaveTemplate(ctx, formUser, desk.TemplateInput{InboxID: ib.ID,
			Name: ev.Common.FormValue(cards.InputTemplateName), Body: ev.Common.FormValue(cards.InputTemplateBody),
			Locked: slices.Contains(ev.Common.FormValues(cards.InputTemplateLocked), "locked")})
		return err
	case formRule:
		// ms picks the assign and status choices and the flags.
		form := map[string][]string{cards.InputRuleName: {value}, cards.InputRuleFrom: {extra}, cards.InputRuleTo: {value},
			cards.InputRuleSubject: {extra}, cards.InputRuleBody: {value}, cards.InputRuleTag: {extra}}
		switch ms & 3 {
		case 1:
			form[cards.InputRuleAssign] = []string{cards.RuleAssignAuto}
		case 2, 3:
			form[cards.InputRuleAssign] = []string{extra}
		}
		if ms&4 != 0 {
			form[cards.InputRuleStatus] = []string{value}
		}
		if ms&8 != 0 {
			form[cards.InputRuleFlags] = []string{"stop", "disabled"}
		}
		if ms&16 != 0 {
			form[cards.InputRuleAttachment] = []string{"yes"}
		}
		ev := addontest.ActionEvent(addontest.Tokens{}, nil, form)
		_, err := svc.SaveRule(ctx, formUser, desk.RuleInput{InboxID: ib.ID, Rule: ruleOf(ev)})
		return err
	case formAssignment:
		ev := addontest.ActionEvent(addontest.Tokens{}, nil, map[string][]string{
			cards.InputAssignMode: {value}, cards.InputAssignAgents: {"bob@example.com", extra},
			cards.InputAssignCapacity: {extra}, cards.InputAssignReassign: {strconv.FormatInt(ms, 10)}, cards.InputAssignRulesOnly: {"yes"}})
		a, err := assignmentOf(ev)
		if err != nil {
			return err
		}
		_, err = svc.SaveAssignment(ctx, formUser, ib.ID, a)
		return err
	case formSLA:
		// value and extra go into two of the form's twelve fields.
		fields := []string{cards.InputSLAFirst, cards.InputSLAResolve, cards.InputSLAAtRisk, cards.InputSLAZone, cards.InputSLAHolidays}
		for d := range 7 {
			fields = append(fields, cards.InputSLADay(time.Weekday(d)))
		}
		i := int(uint64(ms) % uint64(len(fields)))
		form := map[string][]string{fields[i]: {value}, fields[(i+1)%len(fields)]: {extra}}
		ev := addontest.ActionEvent(addontest.Tokens{}, nil, form)
		fv := ev.Common.FormValue
		sf := desk.SLAForm{FirstResponse: fv(cards.InputSLAFirst), Resolution: fv(cards.InputSLAResolve),
			AtRisk: fv(cards.InputSLAAtRisk), Zone: fv(cards.InputSLAZone), Holidays: fv(cards.InputSLAHolidays)}
		for d := range sf.Days {
			sf.Days[d] = fv(cards.InputSLADay(time.Weekday(d)))
		}
		p, err := sf.Policy()
		if err != nil {
			return err
		}
		_, err = svc.SetSLAPolicy(ctx, formUser, ib.ID, p)
		return err
	case formStatusAdd, formStatusRename:
		op, status, name := desk.StatusAdd, "", cards.InputStatusName
		if kind == formStatusRename {
			op, status, name = desk.StatusRename, "pending", cards.StatusNameInput("pending")
		}
		category := []string{"open", "pending", "closed", extra}[ms&3]
		ev := addontest.ActionEvent(addontest.Tokens{}, map[string]string{cards.ParamInbox: ib.ID, cards.ParamStatus: status},
			map[string][]string{name: {value}, cards.InputStatusCategory: {category}})
		a := desk.StatusAction{Op: op, InboxID: ev.Common.Param(cards.ParamInbox), StatusID: ev.Common.Param(cards.ParamStatus)}
		switch op {
		case desk.StatusAdd:
			a.Name, a.Category = ev.Common.FormValue(cards.InputStatusName), ev.Common.FormValue(cards.InputStatusCategory)
		case desk.StatusRename:
			a.Name = ev.Common.FormValue(cards.StatusNameInput(a.StatusID))
		}
		_, err := svc.ChangeStatuses(ctx, formUser, a)
		return err
	case formList:
		ev := addontest.ActionEvent(addontest.Tokens{}, map[string]string{cards.ParamFilter: value, cards.ParamCursor: extra, cards.ParamInbox: ib.ID}, nil)
		fl, err := desk.ParseFilter(ev.Common.Param(cards.ParamFilter))
		if err != nil {
			return badParam(err)
		}
		_, err = svc.List(ctx, formUser, ev.Common.Param(cards.ParamInbox), fl, ev.Common.Param(cards.ParamCursor))
		return err
	case formPrefs:
		lang := value
		switch {
		case lang == cards.LanguageGmail:
			lang = ""
		case !i18n.Lang(lang).Valid():
			return badParam(fmt.Errorf("no language %q", lang))
		}
		_, err := svc.SetLanguage(ctx, formUser, lang)
		return err
	case formAdmin:
		ops := []desk.AdminOp{desk.AdminCreateInbox, desk.AdminRenameInbox, desk.AdminAddMember, desk.AdminAddMember,
			desk.AdminSetRole, desk.AdminRemove, desk.AdminSetOptions, desk.AdminAddAdmin}
		op := ops[uint64(ms)%uint64(len(ops))]
		form := map[string][]string{cards.InputName: {value}, cards.InputAddress: {extra}, cards.InputEmails: {value},
			cards.InputRole: {extra}, cards.InputLabelPrefix: {value}, cards.InputReplyStatus: {extra},
			cards.InputReplyFrom: {extra}, cards.InputLabelLanguage: {extra}}
		params := map[string]string{cards.ParamInbox: ib.ID}
		if op == desk.AdminSetRole || op == desk.AdminRemove {
			params[cards.ParamEmail], params[cards.ParamValue] = value, extra
		}
		ev := addontest.ActionEvent(addontest.Tokens{}, params, form)
		p, fv := ev.Common.Param, ev.Common.FormValue
		a := desk.AdminAction{Op: op, InboxID: p(cards.ParamInbox), Name: fv(cards.InputName), Address: fv(cards.InputAddress),
			Emails: fv(cards.InputEmails), Role: fv(cards.InputRole), LabelPrefix: fv(cards.InputLabelPrefix),
			ReplyStatus: fv(cards.InputReplyStatus), ReplyFrom: fv(cards.InputReplyFrom),
			LabelLanguage: fv(cards.InputLabelLanguage), Lang: i18n.English}
		if e := p(cards.ParamEmail); e != "" {
			a.Emails = e
		}
		if op == desk.AdminSetRole {
			a.Role = p(cards.ParamValue)
		}
		_, err := svc.Admin(ctx, formUser, a)
		return err
	case formOps:
		// The op names the handler dispatches on, and a conversation
		// action with a fuzzed op and version.
		desk.ParseFilter(value)
		desk.ParseStatusOp(value)
		desk.ParseAdminOp(value)
		isTemplateOp(value)
		isRulesOp(value)
		ev := addontest.ActionEvent(addontest.Tokens{}, map[string]string{cards.ParamOp: value, cards.ParamConv: c.ID, cards.ParamVer: extra}, nil)
		a, err := actionOf(ev)
		if err != nil {
			return badParam(err)
		}
		_, err = svc.Act(ctx, formUser, a)
		return err
	}
	return nil
}

// badParam marks an error the handler answers 400 by itself.
func badParam(err error) error {
	if errors.Is(err, inbox.ErrInvalid) {
		return err
	}
	return fmt.Errorf("%w: %w", inbox.ErrInvalid, err)
}
