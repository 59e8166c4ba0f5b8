package demo

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Deliver puts one raw mail into each of the given mailboxes, each copy
// with its own ids, as a Google Group's fan-out does.
type Deliver func(raw []byte, mailboxes []string) error

// SeedMail delivers every demo mail to every member of its inbox, except a
// team member's reply to its author: Gmail keeps a sender no copy of their
// own mail but the SENT one, and a copy from themselves without SENT is
// what a forged From looks like (the syncer warns about it). The store
// already holds the state those replies produced (SeedStore), so the
// authors' SENT copies are left out.
func SeedMail(deliver Deliver, now time.Time) error {
	for _, t := range Threads {
		ib, err := inboxByID(t.Inbox)
		if err != nil {
			return err
		}
		for i, m := range t.Mails {
			var to []string
			for _, mb := range ib.Members {
				if mb.Email != m.ByTeam {
					to = append(to, mb.Email)
				}
			}
			if len(to) == 0 {
				continue
			}
			if err := deliver(t.Raw(ib, i, now), to); err != nil {
				return fmt.Errorf("deliver %s/%d: %w", t.Slug, i, err)
			}
		}
	}
	return nil
}

// SeedStore writes the demo tenants, inboxes and conversations unless the
// first tenant already exists (a restart of `postfach dev` keeps what people
// changed). It reports whether it wrote anything.
func SeedStore(ctx context.Context, s inbox.Store, now time.Time) (bool, error) {
	if _, err := s.GetTenant(ctx, Tenants[0].Domain); err == nil {
		return false, nil
	} else if !errors.Is(err, inbox.ErrNotFound) {
		return false, fmt.Errorf("demo: %w", err)
	}
	for _, t := range Tenants {
		t.CreatedAt = now.Add(-30 * 24 * time.Hour)
		if err := s.CreateTenant(ctx, t); err != nil {
			return false, fmt.Errorf("demo tenant %s: %w", t.Domain, err)
		}
	}
	for _, ib := range Inboxes {
		ib.CreatedAt = now.Add(-30 * 24 * time.Hour)
		if err := s.CreateInbox(ctx, ib); err != nil {
			return false, fmt.Errorf("demo inbox %s: %w", ib.ID, err)
		}
	}
	for _, t := range Threads {
		if err := seedThread(ctx, s, t, now); err != nil {
			return false, fmt.Errorf("demo thread %s: %w", t.Slug, err)
		}
	}
	return true, nil
}

func seedThread(ctx context.Context, s inbox.Store, t Thread, now time.Time) error {
	ib, err := inboxByID(t.Inbox)
	if err != nil {
		return err
	}
	first := now.Add(-t.Mails[0].Ago)
	from, err := mail.ParseAddress(t.From)
	if err != nil {
		return err
	}
	c, created, err := inbox.NewConversation(ib, t.MessageID(0), t.Subject, from.Address, from.Name, first, first)
	if err != nil {
		return err
	}
	c.LastMessageAt = now.Add(-t.Mails[len(t.Mails)-1].Ago)
	var ids []string
	for i := range t.Mails {
		ids = append(ids, t.MessageID(i))
	}
	if err := s.CreateConversation(ctx, c, ids, created); err != nil {
		return err
	}
	// Replay what the team did, a minute after the first mail each.
	at := first
	step := func(change func(at time.Time) (inbox.Activity, error)) error {
		at = at.Add(time.Minute)
		ev, err := change(at)
		if errors.Is(err, inbox.ErrUnchanged) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.UpdateConversation(ctx, c, ev)
	}
	if t.Assignee != "" {
		if err := step(func(at time.Time) (inbox.Activity, error) { return c.Assign(ib, t.Assignee, t.Assignee, at) }); err != nil {
			return err
		}
	}
	for _, tag := range t.Tags {
		by := t.Assignee
		if by == "" {
			by = ib.Members[0].Email
		}
		if err := step(func(at time.Time) (inbox.Activity, error) { return c.AddTag(by, tag, at) }); err != nil {
			return err
		}
	}
	if t.Status != inbox.StatusOpen {
		by := t.Assignee
		if by == "" {
			by = ib.Members[0].Email
		}
		if err := step(func(at time.Time) (inbox.Activity, error) { return c.SetStatus(by, t.Status, at) }); err != nil {
			return err
		}
	}
	for _, n := range t.Notes {
		at = at.Add(time.Minute)
		note, err := inbox.NewNote(c, n.By, n.Body, at)
		if err != nil {
			return err
		}
		if note.Mentions, err = ib.Mentions(n.By, n.Body); err != nil {
			return err
		}
		if err := s.AddNote(ctx, note, c.NoteActivity(note)); err != nil {
			return err
		}
	}
	return nil
}

func inboxByID(id string) (inbox.Inbox, error) {
	for _, ib := range Inboxes {
		if ib.ID == id {
			return ib, nil
		}
	}
	return inbox.Inbox{}, fmt.Errorf("demo: no inbox %q", id)
}
