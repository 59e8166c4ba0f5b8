package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// jsonReport is the stable JSON form of a Report: field names and order
// are part of the command line's contract. Durations are whole seconds,
// dates are YYYY-MM-DD with "to" the period's last day (included).
type jsonReport struct {
	Tenant         string        `json:"tenant"`
	Inbox          string        `json:"inbox"`
	InboxName      string        `json:"inboxName"`
	From           string        `json:"from"`
	To             string        `json:"to"`
	TimeZone       string        `json:"timeZone"`
	Received       int           `json:"received"`
	FirstResponse  jsonDurations `json:"firstResponse"`
	Resolution     jsonDurations `json:"resolution"`
	SLABreaches    int           `json:"slaBreaches"`
	RuleHits       int           `json:"ruleHits"`
	Agents         []jsonAgent   `json:"agents"`
	ReceivedPerDay []int         `json:"receivedPerDay"`
	ResolvedPerDay []int         `json:"resolvedPerDay"`
	Partial        bool          `json:"partial"`
}

type jsonDurations struct {
	Count         int   `json:"count"`
	MedianSeconds int64 `json:"medianSeconds"`
	P90Seconds    int64 `json:"p90Seconds"`
}

type jsonAgent struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Assigned int    `json:"assigned"`
	Closed   int    `json:"closed"`
	Replied  int    `json:"replied"`
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// FirstDay and LastDay are the period's first and last (included) days.
func (p Period) FirstDay() string { return p.From.Format(time.DateOnly) }

// LastDay is the period's last day, included.
func (p Period) LastDay() string { return p.To.AddDate(0, 0, -1).Format(time.DateOnly) }

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	agents := make([]jsonAgent, 0, len(r.Agents))
	for _, a := range r.Agents {
		agents = append(agents, jsonAgent{Email: a.Email, Name: a.Name, Assigned: a.Assigned, Closed: a.Closed, Replied: a.Replied})
	}
	dur := func(d Durations) jsonDurations {
		return jsonDurations{Count: d.Count, MedianSeconds: seconds(d.Median), P90Seconds: seconds(d.P90)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonReport{
		Tenant: r.TenantID, Inbox: r.InboxID, InboxName: r.InboxName,
		From: r.Period.FirstDay(), To: r.Period.LastDay(), TimeZone: r.Period.From.Location().String(),
		Received: r.Received, FirstResponse: dur(r.FirstResponse), Resolution: dur(r.Resolution),
		SLABreaches: r.SLABreaches, RuleHits: r.RuleHits, Agents: agents,
		ReceivedPerDay: nonNil(r.ReceivedPerDay), ResolvedPerDay: nonNil(r.ResolvedPerDay), Partial: r.Partial,
	}); err != nil {
		return fmt.Errorf("write report json: %w", err)
	}
	return nil
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// CSVHeader is the one header row of WriteCSV.
var CSVHeader = []string{"inbox", "from", "to", "agent", "metric", "value"}

// WriteCSV writes r as CSV (RFC 4180, CRLF line ends, which spreadsheets
// open as they are): one header row (CSVHeader), then one row per figure,
// "long" so that a pivot table can reshape it. Inbox-wide figures have an
// empty agent; durations are whole seconds; "partial" is 1 when the figures
// leave something out.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	from, to := r.Period.FirstDay(), r.Period.LastDay()
	row := func(agent, metric string, v int64) {
		cw.Write([]string{cell(r.InboxID), from, to, cell(agent), metric, strconv.FormatInt(v, 10)})
	}
	cw.Write(CSVHeader)
	row("", "received", int64(r.Received))
	row("", "first_response_count", int64(r.FirstResponse.Count))
	row("", "first_response_median_seconds", seconds(r.FirstResponse.Median))
	row("", "first_response_p90_seconds", seconds(r.FirstResponse.P90))
	row("", "resolution_count", int64(r.Resolution.Count))
	row("", "resolution_median_seconds", seconds(r.Resolution.Median))
	row("", "resolution_p90_seconds", seconds(r.Resolution.P90))
	row("", "sla_breaches", int64(r.SLABreaches))
	row("", "rule_hits", int64(r.RuleHits))
	partial := int64(0)
	if r.Partial {
		partial = 1
	}
	row("", "partial", partial)
	for _, a := range r.Agents {
		row(a.Email, "assigned", int64(a.Assigned))
		row(a.Email, "closed", int64(a.Closed))
		row(a.Email, "replied", int64(a.Replied))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write report csv: %w", err)
	}
	return nil
}

// cell keeps a spreadsheet from reading text as a formula (an address may
// start with '='): such a cell gets a leading apostrophe, which
// spreadsheets show as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
