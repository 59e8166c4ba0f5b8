package cards

import (
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/report"
)

// reportScreens are the report card's golden screens: a week with figures
// and a chart, in English and German, and an empty, partial month
// without a chart.
func reportScreens() map[string]*cardpb.Card {
	week := report.LastDays(now, 7, time.UTC)
	v := desk.ReportView{Inbox: ib, Days: 7, Report: report.Report{
		TenantID: "example.com", InboxID: "support", InboxName: "Support", Period: week, Received: 5,
		FirstResponse: report.Durations{Count: 4, Median: 3 * time.Hour, P90: 27 * time.Hour},
		Resolution:    report.Durations{Count: 1, Median: 90 * time.Minute, P90: 90 * time.Minute},
		Agents: []report.Agent{
			{Email: "alice@example.com", Name: "Alice", Closed: 1},
			{Email: "bob@example.com", Name: "<b>Bob</b>", Assigned: 2, Closed: 1, Replied: 2},
		},
		SLABreaches: 1, RuleHits: 3,
		ReceivedPerDay: []int{2, 1, 0, 1, 0, 1, 0}, ResolvedPerDay: []int{0, 1, 0, 0, 0, 0, 0},
	}}
	const chart = "https://postfach.example.com/reports/chart.png?k=payload.mac"
	empty := desk.ReportView{Inbox: ib, Days: 30, Report: report.Report{TenantID: "example.com", InboxID: "support", Period: report.LastDays(now, 30, time.UTC), Partial: true}}
	return map[string]*cardpb.Card{
		"report":       b.Report(v, chart),
		"report_de":    b.For(i18n.NewPrinter(i18n.German, time.UTC)).Report(v, chart),
		"report_empty": b.Report(empty, ""),
	}
}
