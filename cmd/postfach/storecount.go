package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// countingStore counts the calls made to a store, reads and writes apart,
// for postfach loadtest's "store operations per request". A call is one
// store operation whatever it costs the backend; the Firestore adapter's
// own document counts are the finer measure.
type countingStore struct {
	inbox.Store
	reads, writes atomic.Int64
}

var _ inbox.Store = (*countingStore)(nil)

func (s *countingStore) CreateTenant(ctx context.Context, t inbox.Tenant) error {
	s.writes.Add(1)
	return s.Store.CreateTenant(ctx, t)
}

func (s *countingStore) GetTenant(ctx context.Context, domain string) (inbox.Tenant, error) {
	s.reads.Add(1)
	return s.Store.GetTenant(ctx, domain)
}

func (s *countingStore) UpdateTenant(ctx context.Context, domain string, fn func(*inbox.Tenant) error) (inbox.Tenant, error) {
	s.writes.Add(1)
	return s.Store.UpdateTenant(ctx, domain, fn)
}

func (s *countingStore) CreateInbox(ctx context.Context, ib inbox.Inbox) error {
	s.writes.Add(1)
	return s.Store.CreateInbox(ctx, ib)
}

func (s *countingStore) GetInbox(ctx context.Context, tenantID, inboxID string) (inbox.Inbox, error) {
	s.reads.Add(1)
	return s.Store.GetInbox(ctx, tenantID, inboxID)
}

func (s *countingStore) ListInboxes(ctx context.Context, tenantID string) ([]inbox.Inbox, error) {
	s.reads.Add(1)
	return s.Store.ListInboxes(ctx, tenantID)
}

func (s *countingStore) UpdateInbox(ctx context.Context, tenantID, inboxID string, fn func(*inbox.Inbox) error) (inbox.Inbox, error) {
	s.writes.Add(1)
	return s.Store.UpdateInbox(ctx, tenantID, inboxID, fn)
}

func (s *countingStore) DeleteInbox(ctx context.Context, tenantID, inboxID string) error {
	s.writes.Add(1)
	return s.Store.DeleteInbox(ctx, tenantID, inboxID)
}

func (s *countingStore) CreateConversation(ctx context.Context, c inbox.Conversation, messageIDs []string, created inbox.Activity, more ...inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.CreateConversation(ctx, c, messageIDs, created, more...)
}

func (s *countingStore) AppendMessage(ctx context.Context, c inbox.Conversation, messageIDs []string, ev *inbox.Activity, more ...inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.AppendMessage(ctx, c, messageIDs, ev, more...)
}

func (s *countingStore) GetConversation(ctx context.Context, tenantID, id string) (inbox.Conversation, error) {
	s.reads.Add(1)
	return s.Store.GetConversation(ctx, tenantID, id)
}

func (s *countingStore) FindConversationsByMessageID(ctx context.Context, tenantID, messageID string) ([]inbox.Conversation, error) {
	s.reads.Add(1)
	return s.Store.FindConversationsByMessageID(ctx, tenantID, messageID)
}

func (s *countingStore) UpdateConversation(ctx context.Context, c inbox.Conversation, ev inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.UpdateConversation(ctx, c, ev)
}

func (s *countingStore) ListConversations(ctx context.Context, q inbox.ConversationQuery) (inbox.ConversationPage, error) {
	s.reads.Add(1)
	return s.Store.ListConversations(ctx, q)
}

func (s *countingStore) CountConversations(ctx context.Context, q inbox.ConversationQuery) (int, error) {
	s.reads.Add(1)
	return s.Store.CountConversations(ctx, q)
}

func (s *countingStore) InboxCounts(ctx context.Context, tenantID, inboxID string) (inbox.Counts, error) {
	s.reads.Add(1)
	return s.Store.InboxCounts(ctx, tenantID, inboxID)
}

// ReconcileCounts is a write: it recounts, and corrects the counts on drift.
func (s *countingStore) ReconcileCounts(ctx context.Context, tenantID, inboxID string) (inbox.CountsRepair, error) {
	s.writes.Add(1)
	return s.Store.ReconcileCounts(ctx, tenantID, inboxID)
}

func (s *countingStore) ListTenants(ctx context.Context) ([]inbox.Tenant, error) {
	s.reads.Add(1)
	return s.Store.ListTenants(ctx)
}

func (s *countingStore) AddNote(ctx context.Context, n inbox.Note, ev inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.AddNote(ctx, n, ev)
}

func (s *countingStore) GetNote(ctx context.Context, tenantID, conversationID, noteID string) (inbox.Note, error) {
	s.reads.Add(1)
	return s.Store.GetNote(ctx, tenantID, conversationID, noteID)
}

func (s *countingStore) UpdateNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(*inbox.Note) (inbox.Activity, error)) (inbox.Note, error) {
	s.writes.Add(1)
	return s.Store.UpdateNote(ctx, tenantID, conversationID, noteID, fn)
}

func (s *countingStore) DeleteNote(ctx context.Context, tenantID, conversationID, noteID string, fn func(inbox.Note) (inbox.Activity, error)) error {
	s.writes.Add(1)
	return s.Store.DeleteNote(ctx, tenantID, conversationID, noteID, fn)
}

func (s *countingStore) ListMentions(ctx context.Context, tenantID, recipient string, unreadOnly bool, limit int) ([]inbox.Mention, error) {
	s.reads.Add(1)
	return s.Store.ListMentions(ctx, tenantID, recipient, unreadOnly, limit)
}

func (s *countingStore) MarkMentionsRead(ctx context.Context, tenantID, recipient string, noteIDs []string, at time.Time) (int, error) {
	s.writes.Add(1)
	return s.Store.MarkMentionsRead(ctx, tenantID, recipient, noteIDs, at)
}

func (s *countingStore) ListDue(ctx context.Context, t time.Time, limit int) ([]inbox.Conversation, error) {
	s.reads.Add(1)
	return s.Store.ListDue(ctx, t, limit)
}

func (s *countingStore) ListNotes(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Note, error) {
	s.reads.Add(1)
	return s.Store.ListNotes(ctx, tenantID, conversationID, limit)
}

func (s *countingStore) ListActivity(ctx context.Context, tenantID, conversationID string, limit int) ([]inbox.Activity, error) {
	s.reads.Add(1)
	return s.Store.ListActivity(ctx, tenantID, conversationID, limit)
}

func (s *countingStore) RecentHistory(ctx context.Context, tenantID, conversationID string, notes, activity int) ([]inbox.Note, []inbox.Activity, error) {
	s.reads.Add(1)
	return s.Store.RecentHistory(ctx, tenantID, conversationID, notes, activity)
}

func (s *countingStore) PutThreadLink(ctx context.Context, l inbox.ThreadLink) error {
	s.writes.Add(1)
	return s.Store.PutThreadLink(ctx, l)
}

func (s *countingStore) ListThreadLinks(ctx context.Context, tenantID, conversationID string) ([]inbox.ThreadLink, error) {
	s.reads.Add(1)
	return s.Store.ListThreadLinks(ctx, tenantID, conversationID)
}

func (s *countingStore) FindThreadLinks(ctx context.Context, mailbox, threadID string) ([]inbox.ThreadLink, error) {
	s.reads.Add(1)
	return s.Store.FindThreadLinks(ctx, mailbox, threadID)
}

func (s *countingStore) CreateMailbox(ctx context.Context, m inbox.Mailbox) error {
	s.writes.Add(1)
	return s.Store.CreateMailbox(ctx, m)
}

func (s *countingStore) GetMailbox(ctx context.Context, address string) (inbox.Mailbox, error) {
	s.reads.Add(1)
	return s.Store.GetMailbox(ctx, address)
}

func (s *countingStore) ListMailboxes(ctx context.Context, tenantID string) ([]inbox.Mailbox, error) {
	s.reads.Add(1)
	return s.Store.ListMailboxes(ctx, tenantID)
}

func (s *countingStore) ListMailboxesWatchExpiringBefore(ctx context.Context, t time.Time, limit int) ([]inbox.Mailbox, error) {
	s.reads.Add(1)
	return s.Store.ListMailboxesWatchExpiringBefore(ctx, t, limit)
}

func (s *countingStore) ListMailboxesSyncedBefore(ctx context.Context, t time.Time, limit int) ([]inbox.Mailbox, error) {
	s.reads.Add(1)
	return s.Store.ListMailboxesSyncedBefore(ctx, t, limit)
}

func (s *countingStore) UpdateMailbox(ctx context.Context, address string, fn func(*inbox.Mailbox) error) (inbox.Mailbox, error) {
	s.writes.Add(1)
	return s.Store.UpdateMailbox(ctx, address, fn)
}

func (s *countingStore) DeleteMailbox(ctx context.Context, address string) error {
	s.writes.Add(1)
	return s.Store.DeleteMailbox(ctx, address)
}

func (s *countingStore) GetConversationHistory(ctx context.Context, tenantID, id string, notes, activity int) (inbox.Conversation, []inbox.Note, []inbox.Activity, error) {
	s.reads.Add(1)
	return s.Store.GetConversationHistory(ctx, tenantID, id, notes, activity)
}

func (s *countingStore) GetUserPrefs(ctx context.Context, tenantID, email string) (inbox.UserPrefs, error) {
	s.reads.Add(1)
	return s.Store.GetUserPrefs(ctx, tenantID, email)
}

func (s *countingStore) PutUserPrefs(ctx context.Context, p inbox.UserPrefs) error {
	s.writes.Add(1)
	return s.Store.PutUserPrefs(ctx, p)
}

func (s *countingStore) GetPresence(ctx context.Context, tenantID, conversationID string) (inbox.Presence, error) {
	s.reads.Add(1)
	return s.Store.GetPresence(ctx, tenantID, conversationID)
}

func (s *countingStore) UpdatePresence(ctx context.Context, tenantID, conversationID string, fn func(*inbox.Presence) error) (inbox.Presence, error) {
	s.writes.Add(1)
	return s.Store.UpdatePresence(ctx, tenantID, conversationID, fn)
}

func (s *countingStore) LogActivity(ctx context.Context, ev inbox.Activity) error {
	s.writes.Add(1)
	return s.Store.LogActivity(ctx, ev)
}

func (s *countingStore) CreateTemplate(ctx context.Context, t inbox.Template) error {
	s.writes.Add(1)
	return s.Store.CreateTemplate(ctx, t)
}

func (s *countingStore) GetTemplate(ctx context.Context, tenantID, inboxID, id string) (inbox.Template, error) {
	s.reads.Add(1)
	return s.Store.GetTemplate(ctx, tenantID, inboxID, id)
}

func (s *countingStore) ListTemplates(ctx context.Context, tenantID, inboxID string) ([]inbox.Template, error) {
	s.reads.Add(1)
	return s.Store.ListTemplates(ctx, tenantID, inboxID)
}

func (s *countingStore) UpdateTemplate(ctx context.Context, tenantID, inboxID, id string, fn func(*inbox.Template) error) (inbox.Template, error) {
	s.writes.Add(1)
	return s.Store.UpdateTemplate(ctx, tenantID, inboxID, id, fn)
}

func (s *countingStore) DeleteTemplate(ctx context.Context, tenantID, inboxID, id string) error {
	s.writes.Add(1)
	return s.Store.DeleteTemplate(ctx, tenantID, inboxID, id)
}

func (s *countingStore) AutoAssign(ctx context.Context, tenantID, inboxID string, ids []string, fn func(*inbox.AssignRound) error) (inbox.AssignRound, error) {
	s.writes.Add(1)
	return s.Store.AutoAssign(ctx, tenantID, inboxID, ids, fn)
}

func (s *countingStore) SetDue(ctx context.Context, tenantID, id string, version int64, due time.Time) error {
	s.writes.Add(1)
	return s.Store.SetDue(ctx, tenantID, id, version, due)
}

func (s *countingStore) ExportTenant(ctx context.Context, domain string, opts inbox.ExportOptions, fn func(inbox.Record) error) error {
	s.reads.Add(1)
	return s.Store.ExportTenant(ctx, domain, opts, fn)
}

func (s *countingStore) ImportRecords(ctx context.Context, records []inbox.Record) error {
	s.writes.Add(1)
	return s.Store.ImportRecords(ctx, records)
}

func (s *countingStore) EraseTenant(ctx context.Context, domain string) error {
	s.writes.Add(1)
	return s.Store.EraseTenant(ctx, domain)
}
