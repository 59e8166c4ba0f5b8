package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// worker is one sync of one leased mailbox.
type worker struct {
	s       *Syncer
	g       Gmail
	mailbox inbox.Mailbox
	// inboxes are the tenant's inboxes this mailbox receives mail for.
	inboxes []inbox.Inbox
	// meaning maps this mailbox's Postfach label ids to what they stand for.
	meaning map[string]labelMeaning
	// labelIDs maps label names to this mailbox's ids.
	labelIDs map[string]string
	// batch collects the labels new messages need, by change, so that a
	// burst is labelled with a few batchModify calls.
	batch map[string]*labelBatch
	// batched are the conversations whose state the batch's labels show,
	// as read then, checked again once the batch is written (see mirror).
	batched map[string]batchedState
	cursor  uint64
	// current is the Gmail id of the message being ingested; fetched its
	// content once a rule needed it (see rules.go).
	current string
	fetched *fetchedContent
}

// batchedState is a conversation as the labels of a batch show it.
type batchedState struct {
	ib inbox.Inbox
	c  inbox.Conversation
}

// labelBatch is one label change for many messages.
type labelBatch struct {
	add, remove []string
	ids         []string
}

// load reads the inboxes the mailbox serves and makes sure its label tree
// exists.
func (w *worker) load(ctx context.Context) error {
	all, err := w.s.store.ListInboxes(ctx, w.mailbox.TenantID)
	if err != nil {
		return fmt.Errorf("list inboxes: %w", err)
	}
	for _, ib := range all {
		if servedBy(ib, w.mailbox) {
			w.inboxes = append(w.inboxes, ib)
		}
	}
	w.cursor = w.mailbox.HistoryID
	ids, err := w.s.labels(ctx, w.g, w.mailbox, w.inboxes)
	if err != nil {
		return err
	}
	w.labelIDs = ids
	w.batch = map[string]*labelBatch{}
	w.batched = map[string]batchedState{}
	w.meaning = map[string]labelMeaning{}
	for _, ib := range w.inboxes {
		for _, d := range ib.StatusDefs() {
			w.meaning[ids[statusLabel(ib, d)]] = labelMeaning{inbox: ib, status: d}
		}
		if w.mailbox.Kind == inbox.MailboxMember {
			w.meaning[ids[mineLabel(ib)]] = labelMeaning{inbox: ib, mine: true}
		}
	}
	return nil
}

// servedBy reports whether mail for ib reaches mailbox m: the inbox's own
// shared mailbox, or the mailbox of one of its members.
func servedBy(ib inbox.Inbox, m inbox.Mailbox) bool {
	if m.Kind == inbox.MailboxShared {
		return ib.Address == m.Address
	}
	_, member := ib.Member(m.Address)
	return member
}

// incremental applies the history after the cursor, page by page, moving the
// cursor after each page's state is committed. It returns the mailbox's
// current history id as history.list reported it.
func (w *worker) incremental(ctx context.Context) (uint64, error) {
	latest, err := w.g.History(ctx, w.cursor, func(recs []HistoryRecord) error {
		if len(recs) == 0 {
			return nil
		}
		if err := w.apply(ctx, recs); err != nil {
			return err
		}
		return w.advance(ctx, recs[len(recs)-1].ID)
	})
	if err != nil {
		return 0, err
	}
	return latest, w.advance(ctx, latest)
}

// fullSync reads the recent mail of the mailbox and ingests what is missing.
// The cursor is taken first, so changes made during the backfill are
// replayed by the next incremental sync. It returns that cursor, the
// mailbox's history id as users.getProfile reported it.
//
// Its progress is stored after every chunk (inbox.Resync): a resync
// stopped by a crash, a deploy or a lost lease carries on after the last
// message it committed, with the same cursor and window, instead of reading
// the whole window again. (Before, each crash during the resync of a large
// mailbox started it over.)
func (w *worker) fullSync(ctx context.Context) (uint64, error) {
	r := w.mailbox.Resync
	if r.Start < w.mailbox.HistoryID {
		r = inbox.Resync{} // left from a resync older than the cursor: stale
	}
	if r.Start == 0 {
		start, err := w.g.HistoryID(ctx)
		if err != nil {
			return 0, fmt.Errorf("profile: %w", err)
		}
		r = inbox.Resync{Start: start, Since: w.s.now().Add(-w.s.window)}
		if err := w.saveResync(ctx, r); err != nil {
			return 0, err
		}
	} else {
		w.s.log.Info("full resync resumed", "mailbox", w.mailbox.Address, "after", r.After)
	}
	q := fmt.Sprintf("after:%d -in:spam -in:trash -in:drafts", r.Since.Unix())
	var refs []MessageRef
	if err := w.g.ListMessages(ctx, q, func(page []MessageRef) error {
		refs = append(refs, page...)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("list messages: %w", err)
	}
	// Oldest first, so a thread's first mail starts its conversation.
	slices.Reverse(refs)
	if r.After != "" {
		// A message gone since (deleted) is not found: then from the
		// start, which only costs the reads (ingesting is idempotent).
		if i := slices.IndexFunc(refs, func(m MessageRef) bool { return m.ID == r.After }); i >= 0 {
			refs = refs[i+1:]
		}
	}
	const chunk = 100
	for i := 0; i < len(refs); i += chunk {
		part := refs[i:min(i+chunk, len(refs))]
		if err := w.ingestRefs(ctx, part); err != nil {
			return 0, err
		}
		r.After = part[len(part)-1].ID
		if err := w.saveResync(ctx, r); err != nil {
			return 0, err
		}
	}
	// The cursor may be anywhere (expired, or 0): set it to where the
	// backfill started.
	_, err := w.s.store.UpdateMailbox(ctx, w.mailbox.Address, func(m *inbox.Mailbox) error {
		if m.LeaseHolder != w.s.holder {
			return fmt.Errorf("%w: %s", inbox.ErrLeaseLost, m.Address)
		}
		m.HistoryID, m.Resync = r.Start, inbox.Resync{}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("set cursor after full sync: %w", err)
	}
	w.cursor = r.Start
	return r.Start, nil
}

// saveResync stores a full resync's progress, while this instance holds
// the lease.
func (w *worker) saveResync(ctx context.Context, r inbox.Resync) error {
	_, err := w.s.store.UpdateMailbox(ctx, w.mailbox.Address, func(m *inbox.Mailbox) error {
		if m.LeaseHolder != w.s.holder {
			return fmt.Errorf("%w: %s", inbox.ErrLeaseLost, m.Address)
		}
		m.Resync = r
		return nil
	})
	if err != nil {
		return fmt.Errorf("save resync progress: %w", err)
	}
	return nil
}

// advance moves the stored cursor to id once the state up to it is
// committed.
func (w *worker) advance(ctx context.Context, id uint64) error {
	if id <= w.cursor {
		return nil
	}
	from := w.cursor
	_, err := w.s.store.UpdateMailbox(ctx, w.mailbox.Address, func(m *inbox.Mailbox) error {
		return m.Advance(w.s.holder, from, id, w.s.now())
	})
	if err != nil {
		return fmt.Errorf("advance cursor %d→%d: %w", from, id, err)
	}
	w.cursor = id
	return nil
}

// apply commits what a page of history means: new mail into conversations,
// Postfach labels added in Gmail into status and owner changes.
//
// Most labelAdded records are the echo of Postfach's own labelling. A record
// carries the labels its message has after the change, so the labels of a
// message's last record in the page (added or removed) tell what Postfach
// would read from Gmail: when they agree with the state of every
// conversation of the thread, there is nothing to do and nothing is fetched.
// Only a message whose record disagrees (a user's change, or a late echo) or
// that came without labels is fetched, and judged by the labels it carries
// now, as before.
func (w *worker) apply(ctx context.Context, recs []HistoryRecord) error {
	var added []MessageRef
	seen := map[string]bool{}
	var labelled []string
	queued := map[string]bool{}
	last := map[string]MessageRef{} // each message as its last label record in the page shows it
	for _, r := range recs {
		for _, m := range r.Added {
			if !seen[m.ID] {
				seen[m.ID] = true
				added = append(added, m)
			}
		}
		for _, ch := range r.LabelsAdded {
			if w.ours(ch.LabelIDs) && !seen[ch.Message.ID] && !queued[ch.Message.ID] {
				queued[ch.Message.ID] = true
				labelled = append(labelled, ch.Message.ID)
			}
			last[ch.Message.ID] = ch.Message
		}
		for _, ch := range r.LabelsRemoved {
			last[ch.Message.ID] = ch.Message
		}
	}
	if err := w.ingestRefs(ctx, added); err != nil {
		return err
	}
	var fetch []string
	for _, id := range labelled {
		ref := last[id]
		if len(ref.LabelIDs) > 0 && ref.ThreadID != "" {
			changes, err := w.changes(ctx, ref)
			if err != nil {
				return err
			}
			if len(changes) == 0 {
				continue // the labels agree with Postfach's state: its own echo
			}
		}
		fetch = append(fetch, id)
	}
	if len(fetch) == 0 {
		return nil
	}
	// Read the labels the messages carry now: an event whose label is gone
	// again is stale, and one that matches Postfach's state is its own echo.
	msgs, err := w.g.Messages(ctx, fetch)
	if err != nil {
		return fmt.Errorf("fetch labelled messages: %w", err)
	}
	for _, m := range msgs {
		if err := w.labelled(ctx, m.MessageRef); err != nil {
			return err
		}
	}
	return nil
}

func (w *worker) ours(ids []string) bool {
	for _, id := range ids {
		if _, ok := w.meaning[id]; ok {
			return true
		}
	}
	return false
}

// skipLabels are the labels of mail that is not (yet) part of a
// conversation.
var skipLabels = []string{"DRAFT", "SPAM", "TRASH", "CHAT"}

// ingestRefs fetches messages and ingests them in order.
func (w *worker) ingestRefs(ctx context.Context, refs []MessageRef) error {
	if len(refs) == 0 {
		return nil
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	msgs, err := w.g.Messages(ctx, ids)
	if err != nil {
		return fmt.Errorf("fetch messages: %w", err)
	}
	for _, m := range msgs {
		if slices.ContainsFunc(m.LabelIDs, func(l string) bool { return slices.Contains(skipLabels, l) }) {
			continue
		}
		if err := w.ingest(ctx, m); err != nil {
			return fmt.Errorf("ingest %s: %w", m.ID, err)
		}
	}
	return w.flushLabels(ctx)
}

// label queues the labels a new message of c needs in this mailbox, unless
// it carries them already.
func (w *worker) label(ib inbox.Inbox, c inbox.Conversation, msg Message) error {
	add, remove, err := desired(ib, c, w.mailbox, w.labelIDs)
	if err != nil {
		return err
	}
	needed := slices.ContainsFunc(add, func(id string) bool { return !slices.Contains(msg.LabelIDs, id) }) ||
		slices.ContainsFunc(remove, func(id string) bool { return slices.Contains(msg.LabelIDs, id) })
	if !needed {
		return nil
	}
	key := fmt.Sprint(add, remove)
	b, ok := w.batch[key]
	if !ok {
		b = &labelBatch{add: add, remove: remove}
		w.batch[key] = b
	}
	b.ids = append(b.ids, msg.ID)
	w.batched[c.TenantID+"/"+c.ID] = batchedState{ib: ib, c: c}
	return nil
}

// maxBatchModify is how many ids one users.messages.batchModify takes.
const maxBatchModify = 1000

// flushLabels applies the queued label changes. The labels show each
// conversation as it was read before; one that a teammate changed since
// (whose mirror may have landed before the batch) is labelled again in this
// mailbox, as mirror does.
func (w *worker) flushLabels(ctx context.Context) error {
	for key, b := range w.batch {
		for i := 0; i < len(b.ids); i += maxBatchModify {
			if err := w.g.ModifyMessages(ctx, b.ids[i:min(i+maxBatchModify, len(b.ids))], b.add, b.remove); err != nil {
				return fmt.Errorf("label new mail: %w", err)
			}
		}
		delete(w.batch, key)
	}
	for key, st := range w.batched {
		fresh, err := w.s.store.GetConversation(ctx, st.c.TenantID, st.c.ID)
		switch {
		case errors.Is(err, inbox.ErrNotFound):
		case err != nil:
			return fmt.Errorf("read %s again after labelling: %w", st.c.ID, err)
		case !fresh.SameLabels(st.c):
			if err := w.s.mirror(ctx, st.ib, fresh, w.mailbox.Address); err != nil {
				return err
			}
		}
		delete(w.batched, key)
	}
	return nil
}

// ingest records one message in every inbox it belongs to and labels its
// thread.
//
// Who sent a mail is taken from Gmail, not from its From: a mail from a
// member or the shared address takes the team's effects only in the copy
// that carries SENT in the sender's own mailbox (inbox.Mail.Outbound). The
// other copies of such a mail (the group's copy in a teammate's mailbox, or
// a forgery) are linked and labelled but not recorded: a conversation is
// recorded once per Message-ID, by whichever mailbox syncs first, so
// recording the group's copy would make the sender's own copy, synced
// later, a no-op. A conversation such a copy has to open is created without
// indexing the mail's own Message-ID, for the same reason; its id, derived
// from the thread's root, lets the sender's copy find it.
func (w *worker) ingest(ctx context.Context, msg Message) error {
	h := msg.Headers
	h.Mailbox, h.Sent = w.mailbox.Address, slices.Contains(msg.LabelIDs, "SENT")
	mail := h.Mail()
	own := inbox.NormalizeMessageID(mail.Thread.MessageID)
	if own == "" {
		// Without a Message-ID a mail cannot be told apart from its
		// copies in other mailboxes; counting it would duplicate it.
		w.s.log.Warn("mail without Message-ID skipped", "mailbox", w.mailbox.Address, "message", msg.ID)
		return nil
	}
	ids := mail.Thread.All()
	w.current = msg.ID
	warned := false
	for _, ib := range w.inboxes {
		c, found, byOwn, err := w.find(ctx, ib, ids)
		if err != nil {
			return err
		}
		if !found && !mail.AddressedTo(ib) {
			continue // neither addressed to this inbox nor part of one of its threads
		}
		unproven := mail.Unproven(ib)
		if unproven && mail.Forged() && !warned {
			warned = true
			w.s.log.Warn("forged sender: a mail from this mailbox's own address that it did not send; not taken as the team's",
				"mailbox", w.mailbox.Address, "message", msg.ID, "message_id", own)
		}
		changed := false
		switch {
		case !found && unproven:
			c, changed, err = w.start(ctx, ib, mail, ids[1:])
		case !found:
			c, changed, err = w.start(ctx, ib, mail, ids)
		case !unproven && byOwn:
			// Its own Message-ID is indexed to c: a copy in another
			// member's mailbox, or a replay. No write: the copies of one
			// group mail would otherwise all take a transaction on the
			// one conversation, abort each other and wait out backoffs.
			c, changed, err = w.seen(ctx, ib, c)
		case !unproven:
			c, changed, err = w.append(ctx, ib, c, mail, ids)
		}
		if err != nil {
			return err
		}
		if err := w.s.store.PutThreadLink(ctx, inbox.ThreadLink{
			TenantID: c.TenantID, ConversationID: c.ID, Mailbox: w.mailbox.Address, ThreadID: msg.ThreadID,
		}); err != nil {
			return fmt.Errorf("link thread: %w", err)
		}
		// Gmail does not carry thread labels onto new mail: label the new
		// message here; if the state changed, every thread everywhere.
		if changed {
			if err := w.s.mirror(ctx, ib, c, ""); err != nil {
				return err
			}
		} else if err := w.label(ib, c, msg); err != nil {
			return err
		}
	}
	return nil
}

// find returns the conversation of ib that any of ids is indexed to, the
// first id first; byOwn reports that it was found by ids[0], the mail's
// own Message-ID.
func (w *worker) find(ctx context.Context, ib inbox.Inbox, ids []string) (c inbox.Conversation, found, byOwn bool, err error) {
	for i, id := range ids {
		convs, err := w.s.store.FindConversationsByMessageID(ctx, ib.TenantID, id)
		if err != nil {
			return inbox.Conversation{}, false, false, fmt.Errorf("find %s: %w", id, err)
		}
		for _, c := range convs {
			if c.InboxID == ib.ID {
				return c, true, i == 0, nil
			}
		}
	}
	return inbox.Conversation{}, false, false, nil
}

// start opens a conversation for the first mail of a thread, indexing ids; a
// concurrent start (another mailbox's copy) makes it an append, unless the
// mail is one that is not recorded (inbox.Mail.Unproven). changed reports whether
// threads in other mailboxes need relabelling.
func (w *worker) start(ctx context.Context, ib inbox.Inbox, mail inbox.Mail, ids []string) (inbox.Conversation, bool, error) {
	c, ev, err := inbox.StartConversation(ib, mail, w.s.now())
	if err != nil {
		return inbox.Conversation{}, false, err
	}
	more, err := w.rules(ctx, ib, &c, mail, true, false)
	if err != nil {
		return inbox.Conversation{}, false, err
	}
	err = w.s.store.CreateConversation(ctx, c, ids, ev, more...)
	if errors.Is(err, inbox.ErrAlreadyExists) {
		stored, err := w.s.store.GetConversation(ctx, c.TenantID, c.ID)
		if err != nil {
			return inbox.Conversation{}, false, fmt.Errorf("reload %s: %w", c.ID, err)
		}
		if mail.Unproven(ib) {
			return stored, false, nil
		}
		return w.append(ctx, ib, stored, mail, ids)
	}
	if err != nil {
		return inbox.Conversation{}, false, fmt.Errorf("create conversation: %w", err)
	}
	// A new conversation has no thread in other mailboxes yet: each
	// mailbox's own sync labels its copy.
	c, err = w.s.autoAssign(ctx, ib, c)
	return c, false, err
}

// append records a later mail; replays and copies are no-ops.
func (w *worker) append(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, mail inbox.Mail, ids []string) (inbox.Conversation, bool, error) {
	for attempt := 0; ; attempt++ {
		next := c
		next.Tags = slices.Clone(c.Tags)
		now := w.s.now()
		ev := next.Receive(ib, mail, now)
		more, err := w.rules(ctx, ib, &next, mail, false, ev != nil)
		if err != nil {
			return inbox.Conversation{}, false, err
		}
		// The mirror to every mailbox comes after the commit: should it
		// be lost, the sweep writes the labels (a replay of this mail
		// finds it recorded and labels only its own copy).
		next.OweLabels(c, now)
		next.Reschedule(ib)
		err = w.s.store.AppendMessage(ctx, next, ids, ev, more...)
		switch {
		case err == nil:
			if err := w.replied(ctx, ib, next, mail); err != nil {
				return inbox.Conversation{}, false, err
			}
			if next, err = w.s.autoAssign(ctx, ib, next); err != nil {
				return inbox.Conversation{}, false, err
			}
			return next, ev != nil || len(more) > 0 || next.Assignee != c.Assignee, nil
		case errors.Is(err, inbox.ErrAlreadyExists):
			// Recorded before (a replay, or this mail's copy in another
			// mailbox). Label it by the state as it is now, not as it
			// was when c was read: another copy may just have changed it.
			fresh, err := w.s.store.GetConversation(ctx, c.TenantID, c.ID)
			if err != nil {
				return inbox.Conversation{}, false, fmt.Errorf("reload %s: %w", c.ID, err)
			}
			return w.seen(ctx, ib, fresh)
		case errors.Is(err, inbox.ErrConflict) && attempt < 5:
			// Someone changed the conversation meanwhile: recompute.
			if c, err = w.s.store.GetConversation(ctx, c.TenantID, c.ID); err != nil {
				return inbox.Conversation{}, false, fmt.Errorf("reload %s: %w", c.ID, err)
			}
		default:
			return inbox.Conversation{}, false, fmt.Errorf("append to %s: %w", c.ID, err)
		}
	}
}

// seen handles a mail found recorded in c, which was just read: a
// decision the mail's first recording handed over but did not take (the
// instance stopped in between) is taken now. changed reports whether that
// moved the labels of threads in other mailboxes.
func (w *worker) seen(ctx context.Context, ib inbox.Inbox, c inbox.Conversation) (inbox.Conversation, bool, error) {
	assigned, err := w.s.autoAssign(ctx, ib, c)
	if err != nil {
		return inbox.Conversation{}, false, err
	}
	return assigned, assigned.Assignee != c.Assignee, nil
}

// echoWindow is how long a state a conversation has left keeps showing up
// as the echo of Postfach's own labels (mirrors in flight, copies labelled
// from a state read just before it changed) rather than as a user's change.
const echoWindow = 90 * time.Second

// maxEchoEntries bounds the activity entries stale reads to find the state
// a label echoes: far more than members make in echoWindow on one
// conversation, short of a runaway.
const maxEchoEntries = 500

// stale reports whether the Postfach labels on a message are a state the
// conversation had less than echoWindow ago: the status it left (by
// category and, for a named status, its name then), or, in the mailbox of
// its former owner, Mine.
//
// The newest entries come from the card's recent history (one read); when
// all of them are within the window, a busy conversation may have left
// that state further back, so the log is read on (up to
// maxEchoEntries entries).
func (w *worker) stale(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, statuses []inbox.StatusDef, mine bool) (bool, error) {
	_, acts, err := w.s.store.RecentHistory(ctx, c.TenantID, c.ID, 0, inbox.MaxRecentActivity)
	if err != nil {
		return false, fmt.Errorf("history of %s: %w", c.ID, err)
	}
	since := w.s.now().Add(-echoWindow)
	if len(acts) == inbox.MaxRecentActivity && !acts[len(acts)-1].At.Before(since) {
		if acts, err = w.s.store.ListActivity(ctx, c.TenantID, c.ID, maxEchoEntries); err != nil {
			return false, fmt.Errorf("activity of %s: %w", c.ID, err)
		}
	}
	for _, a := range acts {
		if a.At.Before(since) {
			continue
		}
		switch a.Kind {
		case inbox.ActStatus, inbox.ActReopened:
			cat, name := a.StatusFrom()
			cur := ib.StageOf(c)
			for _, st := range statuses {
				if st.ID != cur.ID && st.Category == cat && st.Name == name {
					return true, nil
				}
			}
		case inbox.ActSnoozed, inbox.ActWoke, inbox.ActUnsnoozed:
			if left := a.SnoozeLeft(); left != c.Status && slices.ContainsFunc(statuses, func(d inbox.StatusDef) bool { return d.Category == left }) {
				return true, nil
			}
		case inbox.ActAssigned, inbox.ActUnassigned:
			if mine && a.From == w.mailbox.Address {
				return true, nil
			}
		}
	}
	return false, nil
}

// labelDiff is what the Postfach labels on a message say a user did to
// one conversation of its thread.
type labelDiff struct {
	ib       inbox.Inbox
	c        inbox.Conversation
	statuses []inbox.StatusDef
	mine     bool
	change   func(*inbox.Conversation, inbox.Inbox, time.Time) (inbox.Activity, error)
	actor    string
}

// changes compares the Postfach labels on a message with the state of the
// conversations its thread is linked to in this mailbox, and returns the
// conversations they disagree with. It reads the store, not Gmail.
func (w *worker) changes(ctx context.Context, msg MessageRef) ([]labelDiff, error) {
	links, err := w.s.store.FindThreadLinks(ctx, w.mailbox.Address, msg.ThreadID)
	if err != nil {
		return nil, fmt.Errorf("find thread %s: %w", msg.ThreadID, err)
	}
	var out []labelDiff
	for _, l := range links {
		c, err := w.s.store.GetConversation(ctx, l.TenantID, l.ConversationID)
		if errors.Is(err, inbox.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get conversation %s: %w", l.ConversationID, err)
		}
		ch := labelDiff{c: c}
		for _, id := range msg.LabelIDs {
			m, ok := w.meaning[id]
			if !ok || m.inbox.ID != c.InboxID {
				continue
			}
			ch.ib = m.inbox
			if m.mine {
				ch.mine = true
			} else {
				ch.statuses = append(ch.statuses, m.status)
			}
		}
		if ch.ib.ID == "" {
			continue // none of this conversation's labels is on the message
		}
		if ch.change, ch.actor = w.userChange(ch.ib, c, ch.statuses, ch.mine); ch.change != nil {
			out = append(out, ch)
		}
	}
	return out, nil
}

// labelled handles Postfach labels found on a message after a labelAdded
// record: a status label that disagrees with the conversation is a user
// moving the thread in Gmail; Mine in a member's mailbox is the member
// taking it; a state the conversation has just left is a late echo.
func (w *worker) labelled(ctx context.Context, msg MessageRef) error {
	changes, err := w.changes(ctx, msg)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		stale, err := w.stale(ctx, ch.ib, ch.c, ch.statuses, ch.mine)
		if err != nil {
			return err
		}
		if stale {
			// The label is what the conversation was a moment ago: a
			// late echo of Postfach's own labelling. Re-assert.
			if err := w.s.mirror(ctx, ch.ib, ch.c, w.mailbox.Address); err != nil {
				return err
			}
			continue
		}
		if err := w.s.change(ctx, ch.ib, ch.c, ch.actor, ch.change); err != nil {
			return err
		}
	}
	return nil
}

// userChange works out what a user did to a thread from the Postfach labels
// it carries now.
func (w *worker) userChange(ib inbox.Inbox, c inbox.Conversation, statuses []inbox.StatusDef, mine bool) (func(*inbox.Conversation, inbox.Inbox, time.Time) (inbox.Activity, error), string) {
	actor := ""
	if w.mailbox.Kind == inbox.MailboxMember {
		actor = w.mailbox.Address
	}
	// A status label other than the current one was added by hand (with the
	// current one still there, or moved away from it).
	cur := ib.StageOf(c)
	for _, st := range statuses {
		if st.ID != cur.ID {
			return func(c *inbox.Conversation, ib inbox.Inbox, now time.Time) (inbox.Activity, error) {
				return c.SetStage(ib, actor, st.ID, now)
			}, actor
		}
	}
	if mine && actor != "" && c.Assignee != actor {
		return func(c *inbox.Conversation, ib inbox.Inbox, now time.Time) (inbox.Activity, error) {
			return c.Assign(ib, actor, actor, now)
		}, actor
	}
	return nil, ""
}

// replied applies a member's reply, recorded just now, to the
// conversation's presence: the holder's reply ends the reply claim; a reply
// sent while someone else held the claim, or a second member's reply to
// the customer message another answered minutes before, is logged as a
// flagged entry (inbox.Presence.Replied). Replies from the shared mailbox
// itself are nobody's in particular and change nothing here.
func (w *worker) replied(ctx context.Context, ib inbox.Inbox, c inbox.Conversation, mail inbox.Mail) error {
	if !mail.Outbound(ib) || mail.Mailbox == ib.Address {
		return nil
	}
	now := w.s.now()
	at := mail.Date
	if at.IsZero() || at.After(now) {
		at = now
	}
	parent := ""
	if ids := inbox.ParseMessageIDs(mail.Thread.InReplyTo); len(ids) > 0 {
		parent = ids[0]
	}
	var flagged *inbox.Activity
	if _, err := w.s.store.UpdatePresence(ctx, c.TenantID, c.ID, func(p *inbox.Presence) error {
		flagged = p.Replied(mail.Mailbox, at, parent, now)
		return nil
	}); err != nil {
		return fmt.Errorf("presence of %s: %w", c.ID, err)
	}
	if flagged != nil {
		if err := w.s.store.LogActivity(ctx, *flagged); err != nil {
			return fmt.Errorf("log flagged reply on %s: %w", c.ID, err)
		}
		w.s.log.Info("reply flagged", "conversation", c.ID, "kind", flagged.Kind, "by", flagged.Actor, "other", flagged.From)
	}
	return nil
}
