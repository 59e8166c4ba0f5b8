package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/postfach/postfach/internal/inbox"
)

// SLANotice is what the mail about an SLA threshold says. Words and layout
// are the cards' (see Options.SLAMail).
type SLANotice struct {
	Inbox        inbox.Inbox
	Conversation inbox.Conversation
	Threshold    inbox.SLAThreshold
	Recipient    string
}

// SweepResult is what one run of the sweep did.
type SweepResult struct {
	Looked   int `json:"looked"`   // conversations that were due
	Woke     int `json:"woke"`     // snoozes ended
	Marked   int `json:"marked"`   // thresholds marked at risk or breached
	Notified int `json:"notified"` // mails sent about them
	Failed   int `json:"failed"`   // conversations left for the next run
	// Reassigned counts auto-assigned conversations handed to the next
	// agent after the inbox's time without reply.
	Reassigned int `json:"reassigned"`
}

// Bounds of one sweep run.
const (
	sweepPage     = 100
	maxSweepPages = 50
	// maxSweepSteps bounds the writes to one conversation in one run
	// (a wake and four thresholds need five).
	maxSweepSteps = 12
)

// SweepDue does what is due by now: it reads the conversations whose DueAt
// has come (Store.ListDue, page by page), wakes the snoozed ones, marks the
// SLA thresholds reached, and tells the assignee (the inbox's admins when
// nobody is) about each threshold by mail. Every change is one versioned
// write that records the mark; the mail is sent only after the write, so a
// retried or concurrent sweep never sends it twice (a mail that fails is
// logged, not retried). A conversation with nothing to do gets its due
// time moved (Store.SetDue). When ctx ends it stops and returns what it
// did: what it left is still due for the next run.
func (s *Service) SweepDue(ctx context.Context) (SweepResult, error) {
	now := s.now()
	var res SweepResult
	seen := map[string]bool{}
	inboxes := map[string]*inbox.Inbox{}
	for range maxSweepPages {
		due, err := s.store.ListDue(ctx, now, sweepPage)
		if err != nil {
			return res, fmt.Errorf("list due conversations: %w", err)
		}
		fresh := 0
		for _, c := range due {
			if ctx.Err() != nil {
				return res, nil
			}
			key := c.TenantID + "/" + c.ID
			if seen[key] {
				continue // failed earlier in this run
			}
			seen[key], fresh = true, fresh+1
			res.Looked++
			ib, err := s.sweepInbox(ctx, inboxes, c)
			if err == nil {
				err = s.sweepOne(ctx, ib, c, now, &res)
			}
			if err != nil {
				if ctx.Err() != nil {
					return res, nil // out of time: what is left is still due for the next run
				}
				res.Failed++
				s.log.WarnContext(ctx, "sweep left a conversation for later", "tenant", c.TenantID, "conversation", c.ID, "error", err)
			}
		}
		if len(due) < sweepPage || fresh == 0 {
			break
		}
	}
	return res, nil
}

// sweepInbox reads (once per run) the inbox of a due conversation; nil when
// it was deleted.
func (s *Service) sweepInbox(ctx context.Context, cache map[string]*inbox.Inbox, c inbox.Conversation) (*inbox.Inbox, error) {
	key := c.TenantID + "/" + c.InboxID
	if ib, ok := cache[key]; ok {
		return ib, nil
	}
	ib, err := s.store.GetInbox(ctx, c.TenantID, c.InboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		cache[key] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get inbox %s: %w", c.InboxID, err)
	}
	cache[key] = &ib
	return &ib, nil
}

// sweepOne takes one conversation through every step due, re-reading it
// when another writer got there first.
func (s *Service) sweepOne(ctx context.Context, ib *inbox.Inbox, c inbox.Conversation, now time.Time, res *SweepResult) error {
	if ib == nil {
		// The inbox was deleted: nothing is kept for its conversations.
		return s.setDue(ctx, c, time.Time{})
	}
	if due := c.LabelsDue(); !due.IsZero() && !due.After(now) && s.relabel != nil {
		// An action's labels, which OnChange may have lost. Once Gmail
		// took them, NextSweepStep drops the debt from DueAt.
		if err := s.relabel(ctx, c); err != nil {
			return fmt.Errorf("labels of %s: %w", c.ID, err)
		}
	}
	for range maxSweepSteps {
		if due := c.ReassignDue(*ib); !due.IsZero() && !due.After(now) {
			// Auto-assignment's turn: a decision of its own, in one
			// transaction with the inbox's round (see Reassign). With
			// nobody free it moves the time on, so this ends.
			done, err := s.Reassign(ctx, c)
			if err != nil {
				return err
			}
			if done {
				res.Reassigned++
			}
			if c, err = s.reload(ctx, c); err != nil {
				return err
			}
			continue
		}
		next := c
		ev, th, err := next.NextSweepStep(*ib, now)
		if errors.Is(err, inbox.ErrUnchanged) {
			if next.DueAt.Equal(c.DueAt) && (next.DueAt.IsZero() || next.DueAt.After(now)) {
				return nil
			}
			err := s.setDue(ctx, c, next.DueAt)
			if errors.Is(err, inbox.ErrConflict) {
				if c, err = s.reload(ctx, c); err != nil {
					return err
				}
				continue
			}
			return err
		}
		if err != nil {
			return err
		}
		err = s.store.UpdateConversation(ctx, next, ev)
		if errors.Is(err, inbox.ErrConflict) {
			if c, err = s.reload(ctx, c); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("update %s: %w", c.ID, err)
		}
		c = next
		if th == nil {
			res.Woke++
			if s.onChange != nil {
				s.onChange(ctx, c) // the status and the Snoozed label change
			}
			continue
		}
		res.Marked++
		res.Notified += s.notifySLA(ctx, *ib, c, *th)
	}
	return fmt.Errorf("conversation %s still has steps due after %d", c.ID, maxSweepSteps)
}

func (s *Service) setDue(ctx context.Context, c inbox.Conversation, due time.Time) error {
	if err := s.store.SetDue(ctx, c.TenantID, c.ID, c.Version, due); err != nil {
		return fmt.Errorf("move due time of %s: %w", c.ID, err)
	}
	return nil
}

func (s *Service) reload(ctx context.Context, c inbox.Conversation) (inbox.Conversation, error) {
	fresh, err := s.store.GetConversation(ctx, c.TenantID, c.ID)
	if err != nil {
		return inbox.Conversation{}, fmt.Errorf("reload %s: %w", c.ID, err)
	}
	return fresh, nil
}

// slaRecipients are who hears of a threshold: the assignee, or the inbox's
// admins when nobody (or a former member) has it.
func slaRecipients(ib inbox.Inbox, c inbox.Conversation) []string {
	if _, ok := ib.Member(c.Assignee); ok {
		return []string{c.Assignee}
	}
	var to []string
	for _, m := range ib.Members {
		if m.Role == inbox.RoleAdmin {
			to = append(to, m.Email)
		}
	}
	return to
}

// notifySLA mails the threshold to its recipients, from the inbox's
// mailbox (or each recipient's own, as mention mails are sent), and returns
// how many mails went out.
func (s *Service) notifySLA(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, th inbox.SLAThreshold) int {
	sent := 0
	for _, r := range slaRecipients(ib, c) {
		me, _ := ib.Member(r)
		from, ok := s.mentionSender(ctx, ib, me)
		if !ok {
			s.log.InfoContext(ctx, "no mailbox to send an SLA mail from", "conversation", c.ID, "recipient", r)
			continue
		}
		m := OutgoingMail{From: from, To: r}
		if s.slaMail != nil {
			m.Subject, m.Text = s.slaMail(s.recipientLanguage(ctx, ib, r), SLANotice{Inbox: ib, Conversation: c, Threshold: th, Recipient: r})
		}
		sctx, cancel := context.WithTimeout(ctx, mentionMailTimeout)
		err := s.mailer.SendMail(sctx, addressOf(from), m)
		cancel()
		if err != nil {
			s.log.WarnContext(ctx, "SLA mail not sent", "conversation", c.ID, "kind", th.Kind(), "clock", th.Clock, "error", err)
			continue
		}
		sent++
	}
	return sent
}

// SLAPolicy returns an inbox for its SLA screen: tenant admins and the
// inbox's admins only.
func (s *Service) SLAPolicy(ctx context.Context, u User, inboxID string) (inbox.Inbox, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Inbox{}, err
	}
	return s.slaAdmin(ctx, t, u, inboxID)
}

func (s *Service) slaAdmin(ctx context.Context, t inbox.Tenant, u User, inboxID string) (inbox.Inbox, error) {
	ib, err := s.store.GetInbox(ctx, t.Domain, inboxID)
	if errors.Is(err, inbox.ErrNotFound) {
		s.refused(ctx, u, "unknown inbox", "inbox", inboxID)
		return inbox.Inbox{}, fmt.Errorf("%w: no inbox %q in %s", inbox.ErrForbidden, inboxID, t.Domain)
	}
	if err != nil {
		return inbox.Inbox{}, fmt.Errorf("get inbox %s: %w", inboxID, err)
	}
	if m, ok := ib.Member(u.Email); !t.IsAdmin(u.Email) && (!ok || m.Role != inbox.RoleAdmin) {
		s.refused(ctx, u, "not an admin of the inbox", "inbox", inboxID)
		return inbox.Inbox{}, fmt.Errorf("%w: %s is not an admin of inbox %s", inbox.ErrForbidden, u.Email, inboxID)
	}
	return ib, nil
}

// SetSLAPolicy replaces an inbox's SLA policy (tenant admins and the
// inbox's admins only). It applies to conversations that start from now
// on; those with clocks keep them, measured by the new targets and hours.
func (s *Service) SetSLAPolicy(ctx context.Context, u User, inboxID string, p inbox.SLAPolicy) (inbox.Inbox, error) {
	t, err := s.tenant(ctx, u)
	if err != nil {
		return inbox.Inbox{}, err
	}
	if _, err := s.slaAdmin(ctx, t, u, inboxID); err != nil {
		return inbox.Inbox{}, err
	}
	if err := p.Validate(); err != nil {
		return inbox.Inbox{}, err
	}
	ib, err := s.store.UpdateInbox(ctx, t.Domain, inboxID, func(ib *inbox.Inbox) error {
		ib.Settings.Workflow.SLA = p
		return nil
	})
	if err != nil {
		return inbox.Inbox{}, fmt.Errorf("save SLA policy of %s: %w", inboxID, err)
	}
	s.log.InfoContext(ctx, "SLA policy saved", "inbox", inboxID, "by", u.Email)
	return ib, nil
}

// snooze applies OpSnooze (until a.Value, RFC 3339) or OpUnsnooze.
func snooze(c *inbox.Conversation, ib inbox.Inbox, me inbox.Member, a Action, now time.Time) (inbox.Activity, error) {
	if a.Op == OpUnsnooze {
		return c.Unsnooze(ib, me.Email, now)
	}
	until, err := time.Parse(time.RFC3339, a.Value)
	if err != nil {
		return inbox.Activity{}, inbox.Refusal("refusal.snooze_time")
	}
	return c.Snooze(ib, me.Email, until, now)
}

// SLAForm is the SLA screen's form as typed: targets in hours ("4",
// "1.5", "" for none), the at-risk percentage, the zone, holidays as dates
// separated by commas or spaces, and each weekday's hours as
// "09:00-12:00, 13:00-17:00" ("" closed), Sunday first.
type SLAForm struct {
	FirstResponse, Resolution, AtRisk, Zone, Holidays string
	Days                                              [7]string
}

// Policy parses the form.
func (f SLAForm) Policy() (inbox.SLAPolicy, error) {
	var p inbox.SLAPolicy
	var err error
	if p.FirstResponse, err = parseHours(f.FirstResponse); err != nil {
		return p, err
	}
	if p.Resolution, err = parseHours(f.Resolution); err != nil {
		return p, err
	}
	if a := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f.AtRisk), "%")); a != "" {
		if p.AtRisk, err = strconv.Atoi(a); err != nil || p.AtRisk < 1 {
			return p, inbox.Refusal("refusal.sla_at_risk")
		}
	}
	p.Hours.Zone = strings.TrimSpace(f.Zone)
	for _, d := range strings.FieldsFunc(f.Holidays, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return p, inbox.Refusal("refusal.sla_holiday", "Date", d)
		}
		if !slices.Contains(p.Hours.Holidays, d) {
			p.Hours.Holidays = append(p.Hours.Holidays, d)
		}
	}
	slices.Sort(p.Hours.Holidays)
	for d, text := range f.Days {
		for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' }) {
			from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
			a, errA := parseClock(from)
			b, errB := parseClock(to)
			if !ok || errA != nil || errB != nil {
				return p, inbox.SLAHoursRefusal(time.Weekday(d))
			}
			p.Hours.Week[d] = append(p.Hours.Week[d], inbox.Span{Start: a, End: b})
		}
	}
	return p, p.Validate()
}

// parseHours reads a target in hours; "" is none.
func parseHours(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	if s == "" {
		return 0, nil
	}
	h, err := strconv.ParseFloat(s, 64)
	if err != nil || h < 0 || h > inbox.MaxSLATarget.Hours() {
		return 0, inbox.Refusal("refusal.sla_target")
	}
	return time.Duration(h * float64(time.Hour)).Round(time.Minute), nil
}

// parseClock reads "9", "09:00" or "24:00" as minutes after midnight.
func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	h, m, _ := strings.Cut(s, ":")
	hh, err := strconv.Atoi(h)
	if err != nil {
		return 0, err
	}
	mm := 0
	if m != "" {
		if mm, err = strconv.Atoi(m); err != nil {
			return 0, err
		}
	}
	if hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm > 0 {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hh*60 + mm, nil
}
