package cards

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// Ops, parameters and inputs of the SLA screen and the snooze.
const (
	OpSLA     = "sla"      // push an inbox's SLA screen (inbox)
	OpSaveSLA = "sla-save" // save it (inbox; the form)

	InputSnoozeUntil  = "snooze_until"
	InputSLAFirst     = "sla_first"
	InputSLAResolve   = "sla_resolution"
	InputSLAAtRisk    = "sla_at_risk"
	InputSLAZone      = "sla_zone"
	InputSLAHolidays  = "sla_holidays"
	inputSLADayPrefix = "sla_day_"

	NameSLA = "sla"
)

// InputSLADay is the name of the hours input of a weekday.
func InputSLADay(d time.Weekday) string { return fmt.Sprintf("%s%d", inputSLADayPrefix, d) }

// slaSection is the conversation card's SLA clocks and snooze.
func (b Builder) slaSection(v desk.View) *cardpb.Card_Section {
	c := v.Conversation
	act := func(op desk.Op, extra ...string) *cardpb.OnClick {
		return b.action(append([]string{ParamOp, string(op), ParamConv, c.ID, ParamVer, itoa(c.Version)}, extra...)...)
	}
	var ws []*cardpb.Widget
	for _, k := range c.SLAClocks(v.Inbox, v.Now) {
		ws = append(ws, decorated(b.clockName(k.Clock), b.clockState(k), esc(b.t("sla.business_hours")), nil))
	}
	if c.Snoozed() {
		ws = append(ws,
			decorated(b.t("snooze.title"), esc(b.t("snooze.until", "When", b.p().At(v.Now, c.Flow.SnoozedUntil))), "", nil),
			buttons(button(b.t("snooze.unsnooze"), act(desk.OpUnsnooze))))
		return section(b.t("snooze.section"), ws...)
	}
	loc := b.p().Location()
	if loc == nil {
		loc = time.UTC
	}
	now := v.Now.In(loc)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 0, 0, 0, loc)
	days := (int(time.Monday) - int(now.Weekday()) + 7) % 7
	if days == 0 {
		days = 7
	}
	monday := time.Date(now.Year(), now.Month(), now.Day()+days, 9, 0, 0, 0, loc)
	_, offset := tomorrow.Zone()
	ws = append(ws,
		buttons(
			button(b.t("snooze.tomorrow"), act(desk.OpSnooze, ParamValue, tomorrow.UTC().Format(time.RFC3339))),
			button(b.t("snooze.monday"), act(desk.OpSnooze, ParamValue, monday.UTC().Format(time.RFC3339))),
		),
		&cardpb.Widget{Data: &cardpb.Widget_DateTimePicker{DateTimePicker: &cardpb.DateTimePicker{
			Name: InputSnoozeUntil, Label: b.t("snooze.pick"), Type: cardpb.DateTimePicker_DATE_AND_TIME,
			ValueMsEpoch: ptr(tomorrow.UnixMilli()), TimezoneOffsetDate: int32(offset / 60),
		}}},
		buttons(button(b.t("snooze.button"), act(desk.OpSnooze))),
	)
	return section(b.t("snooze.section"), ws...)
}

func ptr[T any](v T) *T { return &v }

func (b Builder) clockName(k inbox.SLAClock) string {
	if k == inbox.ClockFirstResponse {
		return b.t("sla.clock.first_response")
	}
	return b.t("sla.clock.resolution")
}

// clockState words a clock: breached, at risk, or the time left.
func (b Builder) clockState(k inbox.SLAClockView) string {
	left := k.Left()
	switch {
	case k.Breached || left <= 0:
		return `<font color="#B31412"><b>` + esc(b.t("sla.breached")) + `</b></font>`
	case !k.Running:
		return esc(b.t("sla.paused", "Left", b.hm(left)))
	case k.AtRisk:
		return `<font color="#E37400"><b>` + esc(b.t("sla.at_risk")) + `</b></font> · ` + esc(b.t("sla.due_in", "Left", b.hm(left)))
	}
	return esc(b.t("sla.due_in", "Left", b.hm(left)))
}

// hm says a business duration as hours and minutes: "2 h 10 min".
func (b Builder) hm(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return b.t("sla.span_m", "M", m)
	case m == 0:
		return b.t("sla.span_h", "H", h)
	}
	return b.t("sla.span_hm", "H", h, "M", m)
}

// describeSLA words the SLA and snooze activity kinds; ok is false for
// other kinds.
func (b Builder) describeSLA(a inbox.Activity, actor string) (string, bool) {
	switch a.Kind {
	case inbox.ActSLAAtRisk:
		return b.t("sla.activity.at_risk", "Clock", b.clockName(inbox.SLAClock(a.To))), true
	case inbox.ActSLABreached:
		return b.t("sla.activity.breached", "Clock", b.clockName(inbox.SLAClock(a.To))), true
	case inbox.ActSnoozed:
		until, _ := time.Parse(time.RFC3339, a.To)
		return b.t("snooze.activity.snoozed", "Actor", actor, "When", b.p().At(a.At, until)), true
	case inbox.ActWoke:
		if a.From == inbox.WokeReply {
			return b.t("snooze.activity.woke_reply"), true
		}
		return b.t("snooze.activity.woke_time"), true
	case inbox.ActUnsnoozed:
		return b.t("snooze.activity.unsnoozed", "Actor", actor), true
	}
	return "", false
}

// SLAMail words the mail that tells the assignee (or the inbox's admins)
// that a conversation's SLA clock is at risk or breached; stored text in
// it is made safe as in MentionMail.
func (b Builder) SLAMail(n desk.SLANotice) (subject, text string) {
	subj := b.subject(n.Conversation.Subject)
	clock := b.clockName(n.Threshold.Clock)
	id := "sla.mail_subject_at_risk"
	intro := "sla.mail_intro_at_risk"
	if n.Threshold.Breached {
		id, intro = "sla.mail_subject_breached", "sla.mail_intro_breached"
	}
	subject = inbox.CleanLine(b.t(id, "Clock", clock, "Subject", inbox.CleanLine(subj)))
	link := b.GmailURL
	if link == "" {
		link = "https://mail.google.com/mail/u/0/#search/"
	}
	var t strings.Builder
	t.WriteString(mailLine(b.t(intro, "Clock", clock, "Inbox", n.Inbox.Name, "Subject", subj)))
	t.WriteString("\r\n\r\n")
	t.WriteString(mailLine(b.t("mentions.mail_open", "Customer", b.customerLabel(n.Conversation))))
	t.WriteString("\r\n" + link + url.PathEscape("rfc822msgid:"+n.Conversation.RootMessageID) + "\r\n\r\n")
	t.WriteString("-- \r\n" + mailLine(b.t("sla.mail_footer", "Inbox", n.Inbox.Name)))
	t.WriteString("\r\n")
	return subject, t.String()
}

// SLAPolicy is an inbox's SLA screen: targets, at-risk threshold, time
// zone, business hours per weekday and holidays.
func (b Builder) SLAPolicy(ib inbox.Inbox) *cardpb.Card {
	p := ib.Settings.Workflow.SLA
	h := p.Hours
	if !p.Enabled() && h.Zone == "" {
		h = inbox.OfficeHours(b.zoneName())
	}
	hours := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", d.Hours()), "0"), ".")
	}
	c := &cardpb.Card{Name: NameSLA, Header: &cardpb.Card_CardHeader{Title: b.t("sla.screen_title"), Subtitle: clip(ib.Name, 80)}}
	c.Sections = append(c.Sections, section(b.t("sla.targets"),
		text(esc(b.t("sla.targets_hint"))),
		textInput(InputSLAFirst, b.t("sla.first_hours"), hours(p.FirstResponse), ""),
		textInput(InputSLAResolve, b.t("sla.resolution_hours"), hours(p.Resolution), ""),
		textInput(InputSLAAtRisk, b.t("sla.at_risk_percent"), fmt.Sprint(p.AtRiskPercent()), ""),
	))
	var days []*cardpb.Widget
	days = append(days, text(esc(b.t("sla.hours_hint"))), textInput(InputSLAZone, b.t("sla.zone"), h.Zone, ""))
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		var spans []string
		for _, s := range h.Week[d] {
			spans = append(spans, fmt.Sprintf("%02d:%02d-%02d:%02d", s.Start/60, s.Start%60, s.End/60, s.End%60))
		}
		days = append(days, textInput(InputSLADay(d), b.t(dayIDs[d]), strings.Join(spans, ", "), ""))
	}
	days = append(days, textInput(InputSLAHolidays, b.t("sla.holidays"), strings.Join(h.Holidays, ", "), ""))
	c.Sections = append(c.Sections, section(b.t("sla.hours"), days...))
	c.Sections = append(c.Sections, section("", buttons(
		button(b.t("sla.save"), b.action(ParamOp, OpSaveSLA, ParamInbox, ib.ID)),
	)))
	return c
}

// dayIDs are the weekdays' message ids, Sunday first.
var dayIDs = [7]string{"sla.day_0", "sla.day_1", "sla.day_2", "sla.day_3", "sla.day_4", "sla.day_5", "sla.day_6"}

// zoneName is the viewer's zone name when it has one.
func (b Builder) zoneName() string {
	if l := b.p().Location(); l != nil && l.String() != "Local" {
		return l.String()
	}
	return "UTC"
}
