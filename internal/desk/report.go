package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/report"
)

// ReportDays are the periods the report card offers: the last 7 and 30
// days, today included.
var ReportDays = []int{7, 30}

// ReportView is an inbox's report as its admins see it.
type ReportView struct {
	Inbox  inbox.Inbox
	Days   int // one of ReportDays
	Report report.Report
}

// Report returns the report of an inbox for the last days days (one of
// ReportDays), measured in the inbox's business hours (report.HoursOf).
// Only the inbox's admins and the tenant's admins may see it: others, and
// an inbox that does not exist, get ErrForbidden. It reads as
// report.Read says.
func (s *Service) Report(ctx context.Context, u User, inboxID string, days int) (ReportView, error) {
	if !slices.Contains(ReportDays, days) {
		return ReportView{}, inbox.Invalid("report period of %d days", days)
	}
	t, err := s.tenant(ctx, u)
	if err != nil {
		return ReportView{}, err
	}
	ib, err := s.store.GetInbox(ctx, t.Domain, inboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		s.refused(ctx, u, "unknown inbox", "inbox", inboxID)
		return ReportView{}, fmt.Errorf("%w: no inbox %q in %s", inbox.ErrForbidden, inboxID, t.Domain)
	}
	if err != nil {
		return ReportView{}, fmt.Errorf("get inbox %s: %w", inboxID, err)
	}
	me, _ := ib.Member(u.Email)
	if me.Email == "" {
		me.Email = u.Email
	}
	if !isInboxAdmin(t, me) {
		s.refused(ctx, u, "not an inbox admin", "inbox", inboxID)
		return ReportView{}, fmt.Errorf("%w: %s is not an admin of inbox %s", inbox.ErrForbidden, u.Email, inboxID)
	}
	hours, loc := report.HoursOf(ib)
	r, err := report.Build(ctx, s.store, ib, report.LastDays(s.now(), days, loc), hours)
	if err != nil {
		return ReportView{}, err
	}
	return ReportView{Inbox: ib, Days: days, Report: r}, nil
}
