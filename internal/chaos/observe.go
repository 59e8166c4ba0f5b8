package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// converge waits for the oracle to hold, from calm (the faults' end) for
// at most Options.Converge. It checks in full once the mailboxes look
// settled (every announced history read, no sync running), and again
// after each change, and returns the last check's differences.
func (r *run) converge(ctx context.Context, calm time.Time) ([]Diff, bool, error) {
	deadline := calm.Add(r.o.Converge)
	var diffs []Diff
	checked := false
	var lastSweep, lastCheck time.Time
	for {
		if time.Since(lastSweep) >= sweepEvery {
			// Cloud Scheduler's sweep: it writes the labels an action
			// owes (one its crash lost).
			lastSweep = time.Now()
			if err := r.task(ctx, "/tasks/sla-sweep"); err != nil {
				fmt.Fprintf(r.o.Progress, "%s: sweep: %v\n", r.o.Store, err)
			}
		}
		settled, err := r.settled(ctx)
		if err != nil {
			return nil, false, err
		}
		if (settled && time.Since(lastCheck) >= sweepEvery) || time.Now().After(deadline) {
			lastCheck = time.Now()
			r.mu.Lock()
			rec := Record{Deliveries: slices.Clone(r.record.Deliveries), Actions: slices.Clone(r.record.Actions)}
			r.mu.Unlock()
			o, err := r.observe(ctx, rec)
			if err != nil {
				return nil, false, err
			}
			diffs, checked = Check(rec, o), true
			if len(diffs) == 0 {
				return nil, true, nil
			}
			fmt.Fprintf(r.o.Progress, "%s: %.0fs after the storm: %d differences, e.g. %s\n", r.o.Store, time.Since(calm).Seconds(), len(diffs), diffs[0])
		}
		if time.Now().After(deadline) && checked {
			return diffs, false, nil
		}
		select {
		case <-ctx.Done():
			return diffs, false, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// sweepEvery is how often the run calls the sweep task while converging,
// and the least time between two full checks.
const sweepEvery = 10 * time.Second

// settled reports whether every mailbox has read all history announced to
// it and no sync holds it.
func (r *run) settled(ctx context.Context) (bool, error) {
	for _, m := range members {
		mb, err := r.store.GetMailbox(ctx, m)
		if err != nil {
			return false, err
		}
		if mb.HistoryID == 0 || mb.NotifiedHistoryID > mb.HistoryID || (mb.LeaseHolder != "" && time.Now().Before(mb.LeaseUntil)) {
			return false, nil
		}
	}
	return true, nil
}

// observe reads the end state: the store's conversations, logs, notes,
// Message-ID index and counts, and the labels in the simulated mailboxes.
func (r *run) observe(ctx context.Context, rec Record) (Observed, error) {
	o := Observed{Holding: map[string][]Ref{}, Conversations: map[string]Conversation{}, Counters: map[string]Counts{}}
	names := map[string]inbox.Inbox{}
	var ids []inbox.Conversation
	for _, ib := range inboxes {
		stored, err := r.store.GetInbox(ctx, tenant, ib.ID)
		if err != nil {
			return o, err
		}
		names[ib.ID] = stored
		q := inbox.ConversationQuery{TenantID: tenant, InboxID: ib.ID, Limit: 100}
		for {
			page, err := r.store.ListConversations(ctx, q)
			if err != nil {
				return o, fmt.Errorf("list %s: %w", ib.ID, err)
			}
			ids = append(ids, page.Conversations...)
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		k, err := r.store.InboxCounts(ctx, tenant, ib.ID)
		if err != nil {
			return o, err
		}
		o.Counters[ib.ID] = Counts{Open: k.Open, Pending: k.Pending, Closed: k.Closed, Unassigned: k.Unassigned, Assigned: k.Assigned}
	}

	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	parallel := func(n int, f func(i int)) {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					f(i)
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	parallel(len(ids), func(i int) {
		c := ids[i]
		acts, err := r.store.ListActivity(ctx, tenant, c.ID, 10000)
		if err != nil {
			fail(fmt.Errorf("activity of %s: %w", c.ID, err))
			return
		}
		notes, err := r.store.ListNotes(ctx, tenant, c.ID, 10000)
		if err != nil {
			fail(fmt.Errorf("notes of %s: %w", c.ID, err))
			return
		}
		oc := Conversation{ID: c.ID, Inbox: c.InboxID, Status: string(c.Status), Assignee: c.Assignee, Tags: c.Tags}
		for _, a := range acts {
			oc.Activity = append(oc.Activity, Activity{Version: a.Version, Actor: a.Actor, Kind: string(a.Kind), From: a.From, To: a.To})
		}
		for _, n := range notes {
			oc.Notes = append(oc.Notes, n.Body)
		}
		mu.Lock()
		o.Conversations[c.ID] = oc
		mu.Unlock()
	})
	mids := map[string]bool{}
	for _, d := range rec.Deliveries {
		mids[d.MessageID] = true
	}
	list := slices.Sorted(maps.Keys(mids))
	parallel(len(list), func(i int) {
		cs, err := r.store.FindConversationsByMessageID(ctx, tenant, list[i])
		if err != nil {
			fail(fmt.Errorf("find <%s>: %w", list[i], err))
			return
		}
		mu.Lock()
		for _, c := range cs {
			o.Holding[list[i]] = append(o.Holding[list[i]], Ref{Inbox: c.InboxID, Conversation: c.ID})
		}
		mu.Unlock()
	})
	if firstErr != nil {
		return o, firstErr
	}

	// Labels: every copy in a thread the store links to a conversation.
	p := i18n.NewPrinter(i18n.Lang(""), nil)
	leaf := map[string]string{"open": p.T("labels.open"), "pending": p.T("labels.pending"), "closed": p.T("labels.closed")}
	for _, m := range members {
		mb, err := r.store.GetMailbox(ctx, m)
		if err != nil {
			return o, err
		}
		byID := map[string]string{}
		for name, id := range mb.Labels {
			byID[id] = name
		}
		links := map[string][]inbox.ThreadLink{}
		for _, msg := range r.w.sim.MessagesOf(m) {
			ls, ok := links[msg.ThreadID]
			if !ok {
				if ls, err = r.store.FindThreadLinks(ctx, m, msg.ThreadID); err != nil {
					return o, err
				}
				links[msg.ThreadID] = ls
			}
			for _, l := range ls {
				c, ok := o.Conversations[l.ConversationID]
				if !ok {
					continue
				}
				ib := names[c.Inbox]
				root := inbox.DefaultInboxSettings().LabelPrefix + "/" + ib.Name + "/"
				if ib.Settings.LabelPrefix != "" {
					root = ib.Settings.LabelPrefix + "/" + ib.Name + "/"
				}
				ml := MessageLabels{Mailbox: m, Message: msg.ID, Conversation: c.ID, Want: []string{root + leaf[c.Status]}}
				if c.Assignee == m {
					ml.Want = append(ml.Want, root+p.T("labels.mine"))
				}
				for _, id := range msg.LabelIDs {
					if name := byID[id]; strings.HasPrefix(name, root) {
						ml.Got = append(ml.Got, name)
					}
				}
				o.Labels = append(o.Labels, ml)
			}
		}
	}
	return o, nil
}
