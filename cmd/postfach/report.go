package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/report"
)

// runReport runs `postfach report --inbox I --domain D --from F --to T
// --format csv|json`: an inbox's report for a period, on stdout.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const doc = "Print an inbox's report for a period: conversations received, first-response and resolution " +
		"times (median and 90th percentile, in the inbox's business hours), volume per agent, SLA breaches and rule hits. " +
		"Every figure is about the conversations received in the period, as of its last day. " +
		"CSV has one header row (inbox,from,to,agent,metric,value; durations in seconds); JSON is one object."
	fs := newFlagSet("report", "", doc, settingsStore, stdout)
	domain := fs.String("domain", "", "the tenant (Google Workspace domain)")
	inboxID := fs.String("inbox", "", "the inbox id")
	from := fs.String("from", "", "the period's first day, YYYY-MM-DD, in the inbox's time zone")
	to := fs.String("to", "", "the period's last day (included), YYYY-MM-DD")
	format := fs.String("format", "csv", "csv or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *domain == "" || *inboxID == "" || *from == "" || *to == "" {
		return fmt.Errorf("%w: report: --domain, --inbox, --from and --to are required (see postfach report --help)", errUsage)
	}
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("%w: report: --format %q: want csv or json", errUsage, *format)
	}
	store, closeStore, err := openCommandStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	r, err := buildReport(ctx, store, *domain, *inboxID, *from, *to)
	if err != nil {
		return err
	}
	if r.Partial {
		fmt.Fprintf(stderr, "report: partial: more than %d conversations or %d activity entries in one; the figures leave some out\n", report.MaxReceived, report.MaxActivity)
	}
	if *format == "json" {
		return report.WriteJSON(stdout, r)
	}
	return report.WriteCSV(stdout, r)
}

// buildReport reads the report of one inbox for the days from to to.
func buildReport(ctx context.Context, store inbox.Store, domain, inboxID, from, to string) (report.Report, error) {
	ib, err := store.GetInbox(ctx, domain, inboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		return report.Report{}, fmt.Errorf("%w: report: no inbox %q in %s", errUsage, inboxID, domain)
	}
	if err != nil {
		return report.Report{}, fmt.Errorf("report: %w", err)
	}
	hours, loc := report.HoursOf(ib)
	p, err := report.ParsePeriod(from, to, loc)
	if err != nil {
		return report.Report{}, fmt.Errorf("%w: report: %v", errUsage, err)
	}
	return report.Build(ctx, store, ib, p, hours)
}
