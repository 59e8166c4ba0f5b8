package cards

import (
	"strconv"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/report"
)

// NameReport is the report card's name.
const NameReport = "report"

// OpReport pushes an inbox's report card (inbox, value = days, one of
// desk.ReportDays; "" is the first), or with ParamValue set from the card
// itself replaces it with another period.
const OpReport = "report"

// periodIDs word the periods of desk.ReportDays.
var periodIDs = map[int]string{7: "reports.last_7", 30: "reports.last_30"}

// reportButton opens an inbox's report.
func (b Builder) reportButton(inboxID string) *cardpb.Button {
	return button(b.t("reports.button"), b.action(ParamOp, OpReport, ParamInbox, inboxID))
}

// Report renders an inbox's report: the period's choices, the figures,
// the chart (chartURL, a signed link the image proxy can fetch; "" leaves
// it out) and the figures per person.
func (b Builder) Report(v desk.ReportView, chartURL string) *cardpb.Card {
	r := v.Report
	c := &cardpb.Card{
		Name: NameReport,
		Header: &cardpb.Card_CardHeader{
			Title:    clip(b.t("reports.title", "Inbox", v.Inbox.Name), 80),
			Subtitle: b.t("reports.period", "From", b.p().Date(r.Period.From), "To", b.p().Date(r.Period.To.AddDate(0, 0, -1))),
		},
	}
	var periods []*cardpb.Button
	for _, d := range desk.ReportDays {
		label := b.t(periodIDs[d])
		if d == v.Days {
			label = "✓ " + label
		}
		periods = append(periods, button(label, b.action(ParamOp, OpReport, ParamInbox, v.Inbox.ID, ParamValue, strconv.Itoa(d))))
	}
	ws := []*cardpb.Widget{
		buttons(periods...),
		decorated(b.t("reports.received"), "<b>"+strconv.Itoa(r.Received)+"</b>", "", nil),
		b.durations("reports.first_response", r.FirstResponse),
		b.durations("reports.resolution", r.Resolution),
		decorated(b.t("reports.sla_breaches"), "<b>"+strconv.Itoa(r.SLABreaches)+"</b>", "", nil),
		decorated(b.t("reports.rule_hits"), "<b>"+strconv.Itoa(r.RuleHits)+"</b>", "", nil),
	}
	if r.Partial {
		ws = append(ws, text("<font color=\"#B31412\">"+esc(b.t("reports.partial"))+"</font>"))
	}
	if chartURL != "" {
		ws = append(ws, &cardpb.Widget{Data: &cardpb.Widget_Image{Image: &cardpb.Image{ImageUrl: chartURL, AltText: b.t("reports.chart_alt")}}})
	}
	c.Sections = append(c.Sections, section("", ws...))
	var people []*cardpb.Widget
	for _, a := range r.Agents {
		people = append(people, decorated(esc(a.Name), esc(b.t("reports.agent_line", "Assigned", a.Assigned, "Replied", a.Replied, "Closed", a.Closed)), esc(a.Email), nil))
		if len(people) == 40 {
			break
		}
	}
	if len(people) > 0 {
		c.Sections = append(c.Sections, section(b.t("reports.agents"), people...))
	}
	c.Sections = append(c.Sections, section("",
		text("<i>"+esc(b.t("reports.hint"))+"</i>"),
		buttons(button(b.t("button.my_inboxes"), b.action(ParamOp, OpInboxes))),
	))
	return c
}

// durations is one line of median and 90th percentile.
func (b Builder) durations(id string, d report.Durations) *cardpb.Widget {
	if d.Count == 0 {
		return decorated(b.t(id), esc(b.t("reports.none")), "", nil)
	}
	return decorated(b.t(id),
		"<b>"+esc(b.t("reports.median_p90", "Median", b.p().Span(d.Median), "P90", b.p().Span(d.P90)))+"</b>",
		esc(b.p().N("reports.from_count", d.Count)), nil)
}

// canReport reports whether the homepage offers an inbox's report: to its
// admins and the tenant's.
func canReport(h desk.Home, s desk.InboxSummary) bool {
	return h.Admin || s.Me.Role == inbox.RoleAdmin
}
