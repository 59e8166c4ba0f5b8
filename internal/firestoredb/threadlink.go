package firestoredb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postfach/postfach/internal/inbox"
)

// Thread links are stored twice, each where one of the two lookups reads
// it by key rather than by a query of all links:
//
//	tenants/{t}/conversationLinks/{c}   tenantId, conversationId, links{hashID(mailbox, thread)}: {mailbox, threadId}
//	mailboxes/{address}/threads/{hashID(thread)}   mailbox, threadId, links{hashID(tenant, conversation)}: {tenantId, conversationId}
//
// ListThreadLinks reads the first, FindThreadLinks the second (one
// document each, a map of a few entries); PutThreadLink adds an entry to
// both in one transaction. Before, links were one top-level collection
// queried by (tenantId, conversationId) and by (mailbox, threadId).
// Firestore serves such queries from composite indexes, but Google's
// emulator scans the collection for each, so the mirror of one change took
// 190 ms at 5,000 conversations (BenchmarkHotPathGrowth) and the chaos
// run fell behind; and listing a conversation's links read one document
// per link, where now it reads one. migrateThreadLinks moves links of that
// layout when a store opens.
const (
	collConversationLinks = "conversationLinks"
	collThreads           = "threads"
	// collOldThreadLinks is the top-level collection of the first layout.
	collOldThreadLinks = "threadLinks"
)

// linkDoc is the stored form of an inbox.ThreadLink in the first layout.
type linkDoc struct {
	TenantID       string `firestore:"tenantId"`
	ConversationID string `firestore:"conversationId"`
	Mailbox        string `firestore:"mailbox"`
	ThreadID       string `firestore:"threadId"`
}

// convLinksDoc is a conversation's links, keyed by hashID(mailbox, thread).
type convLinksDoc struct {
	TenantID       string                   `firestore:"tenantId"`
	ConversationID string                   `firestore:"conversationId"`
	Links          map[string]mailboxThread `firestore:"links"`
}

type mailboxThread struct {
	Mailbox  string `firestore:"mailbox"`
	ThreadID string `firestore:"threadId"`
}

// threadDoc is a Gmail thread of a mailbox and the conversations it is
// linked to, keyed by hashID(tenant, conversation).
type threadDoc struct {
	Mailbox  string                `firestore:"mailbox"`
	ThreadID string                `firestore:"threadId"`
	Links    map[string]threadConv `firestore:"links"`
}

type threadConv struct {
	TenantID       string `firestore:"tenantId"`
	ConversationID string `firestore:"conversationId"`
}

func (s *Store) convLinksRef(tenantID, conversationID string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collConversationLinks).Doc(docID(conversationID))
}

func (s *Store) threadRef(mailbox, threadID string) *firestore.DocumentRef {
	return s.mailboxRef(mailbox).Collection(collThreads).Doc(hashID(threadID))
}

func convLinkKey(l inbox.ThreadLink) string   { return hashID(l.Mailbox, l.ThreadID) }
func threadLinkKey(l inbox.ThreadLink) string { return hashID(l.TenantID, l.ConversationID) }

// convEntries is the merge that adds links of one conversation to its
// document: only their own entries of the map are written.
func convEntries(links []inbox.ThreadLink) map[string]any {
	m := map[string]any{}
	for _, l := range links {
		m[convLinkKey(l)] = map[string]any{"mailbox": l.Mailbox, "threadId": l.ThreadID}
	}
	return map[string]any{"tenantId": links[0].TenantID, "conversationId": links[0].ConversationID, "links": m}
}

// threadEntries is the same for links of one thread of one mailbox.
func threadEntries(links []inbox.ThreadLink) map[string]any {
	m := map[string]any{}
	for _, l := range links {
		m[threadLinkKey(l)] = map[string]any{"tenantId": l.TenantID, "conversationId": l.ConversationID}
	}
	return map[string]any{"mailbox": links[0].Mailbox, "threadId": links[0].ThreadID, "links": m}
}

// groupLinks groups links by key, in the order first seen: a BulkWriter
// writes each document once, so the links of one document go in one
// merge.
func groupLinks(links []inbox.ThreadLink, key func(inbox.ThreadLink) [2]string) [][]inbox.ThreadLink {
	var out [][]inbox.ThreadLink
	at := map[[2]string]int{}
	for _, l := range links {
		k := key(l)
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], l)
	}
	return out
}

func byConversation(l inbox.ThreadLink) [2]string { return [2]string{l.TenantID, l.ConversationID} }
func byThread(l inbox.ThreadLink) [2]string       { return [2]string{l.Mailbox, l.ThreadID} }

// writeLinks adds links to both of their sides through set, one merge per
// document.
func (s *Store) writeLinks(links []inbox.ThreadLink, set func(*firestore.DocumentRef, any, ...firestore.SetOption) error) error {
	for _, c := range groupLinks(links, byConversation) {
		if err := set(s.convLinksRef(c[0].TenantID, c[0].ConversationID), convEntries(c), firestore.MergeAll); err != nil {
			return err
		}
	}
	for _, t := range groupLinks(links, byThread) {
		if err := set(s.threadRef(t[0].Mailbox, t[0].ThreadID), threadEntries(t), firestore.MergeAll); err != nil {
			return err
		}
	}
	return nil
}

// PutThreadLink implements inbox.Store with one transaction that reads the
// conversation's links and, when l is not among them, adds it to both
// sides: a link that exists already costs one read and no write.
func (s *Store) PutThreadLink(ctx context.Context, l inbox.ThreadLink) error {
	if l.TenantID == "" || l.ConversationID == "" || l.Mailbox == "" || l.ThreadID == "" {
		return fmt.Errorf("put thread link: %w", invalid("a thread link needs a tenant, a conversation, a mailbox and a thread"))
	}
	ref := s.convLinksRef(l.TenantID, l.ConversationID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snap, err := s.get(ctx, tx, ref)
		switch {
		case err == nil:
			var d convLinksDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode the conversation's links: %w", err)
			}
			if _, ok := d.Links[convLinkKey(l)]; ok {
				return nil
			}
		case status.Code(err) != codes.NotFound:
			return err
		}
		return s.writeLinks([]inbox.ThreadLink{l}, func(ref *firestore.DocumentRef, data any, opts ...firestore.SetOption) error {
			return tx.set(ref, data, opts...)
		})
	})
	return wrapCommit(fmt.Sprintf("put thread link %s/%s → %s/%s", l.TenantID, l.ConversationID, l.Mailbox, l.ThreadID), err)
}

// ListThreadLinks implements inbox.Store with one read of the
// conversation's links.
func (s *Store) ListThreadLinks(ctx context.Context, tenantID, conversationID string) ([]inbox.ThreadLink, error) {
	op := fmt.Sprintf("list thread links of %s/%s", tenantID, conversationID)
	if tenantID == "" || conversationID == "" {
		return []inbox.ThreadLink{}, nil
	}
	snap, err := s.get(ctx, nil, s.convLinksRef(tenantID, conversationID))
	if status.Code(err) == codes.NotFound {
		return []inbox.ThreadLink{}, nil
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	var d convLinksDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", op, err)
	}
	out := d.links()
	slices.SortFunc(out, func(a, b inbox.ThreadLink) int {
		if c := strings.Compare(a.Mailbox, b.Mailbox); c != 0 {
			return c
		}
		return strings.Compare(a.ThreadID, b.ThreadID)
	})
	return out, nil
}

func (d convLinksDoc) links() []inbox.ThreadLink {
	out := make([]inbox.ThreadLink, 0, len(d.Links))
	for _, t := range d.Links {
		out = append(out, inbox.ThreadLink{TenantID: d.TenantID, ConversationID: d.ConversationID, Mailbox: t.Mailbox, ThreadID: t.ThreadID})
	}
	return out
}

// FindThreadLinks implements inbox.Store with one read of the thread's
// document.
func (s *Store) FindThreadLinks(ctx context.Context, mailbox, threadID string) ([]inbox.ThreadLink, error) {
	op := fmt.Sprintf("find thread links of %s/%s", mailbox, threadID)
	if mailbox == "" || threadID == "" {
		return []inbox.ThreadLink{}, nil
	}
	snap, err := s.get(ctx, nil, s.threadRef(mailbox, threadID))
	if status.Code(err) == codes.NotFound {
		return []inbox.ThreadLink{}, nil
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	var d threadDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", op, err)
	}
	out := d.links()
	slices.SortFunc(out, func(a, b inbox.ThreadLink) int {
		if c := strings.Compare(a.ConversationID, b.ConversationID); c != 0 {
			return c
		}
		return strings.Compare(a.TenantID, b.TenantID)
	})
	return out, nil
}

func (d threadDoc) links() []inbox.ThreadLink {
	out := make([]inbox.ThreadLink, 0, len(d.Links))
	for _, c := range d.Links {
		out = append(out, inbox.ThreadLink{TenantID: c.TenantID, ConversationID: c.ConversationID, Mailbox: d.Mailbox, ThreadID: d.ThreadID})
	}
	return out
}

// migrateThreadLinks moves the links of the first layout (the top-level
// collection threadLinks) to the current one, a page at a time, each link
// written on both sides before its old document is deleted, so a move cut
// short is finished by the next. A store without old links pays one empty
// query.
func (s *Store) migrateThreadLinks(ctx context.Context) error {
	for {
		snaps, err := s.query(ctx, nil, querySpec{coll: s.collection(collOldThreadLinks), limit: 200})
		if err != nil {
			return fmt.Errorf("migrate thread links: %w", err)
		}
		if len(snaps) == 0 {
			return nil
		}
		links := make([]inbox.ThreadLink, 0, len(snaps))
		for _, snap := range snaps {
			var d linkDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("migrate thread links: decode %s: %w", snap.Ref.ID, err)
			}
			links = append(links, inbox.ThreadLink(d))
		}
		if err := s.runBulk(ctx, func(b *bulk) error { return s.writeLinks(links, b.set) }); err != nil {
			return fmt.Errorf("migrate thread links: %w", err)
		}
		// Only now that both sides are written.
		err = s.runBulk(ctx, func(b *bulk) error {
			for _, snap := range snaps {
				if err := b.delete(snap.Ref); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate thread links: delete the old links: %w", err)
		}
	}
}
