package firestoredb

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"

	"github.com/postfach/postfach/internal/inbox"
)

// Export, import and erase read and write whole collections of one tenant.
// They are no hot path: they iterate the tenant's collections directly
// (ordered by document id, which needs no index) and run the
// single-field equality queries tenantId == domain on the top-level
// collections (mailboxes, due), which Firestore's automatic single-field
// indexes serve.

// undocID inverts docID for a key that docID escaped with "~" and base64url;
// keys it used as they are come back as they are.
func undocID(id string) string {
	if strings.HasPrefix(id, "~") && !strings.HasPrefix(id, "~~") {
		if b, err := base64.RawURLEncoding.DecodeString(id[1:]); err == nil {
			return string(b)
		}
	}
	return id
}

// docs reads every document of it, counting the reads.
func (s *Store) docs(it *firestore.DocumentIterator, fn func(*firestore.DocumentSnapshot) error) error {
	defer it.Stop()
	n := 0
	defer func() { s.reads.Add(int64(max(1, n))) }()
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return err
		}
		n++
		if err := fn(snap); err != nil {
			return err
		}
	}
}

// refs lists the documents of coll, the missing ones that only hold
// subcollections included (a deleted inbox's templates, a member's
// mentions), sorted by id.
func refs(ctx context.Context, coll *firestore.CollectionRef) ([]*firestore.DocumentRef, error) {
	var out []*firestore.DocumentRef
	it := coll.DocumentRefs(ctx)
	for {
		ref, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	slices.SortFunc(out, func(a, b *firestore.DocumentRef) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ExportTenant implements inbox.Store. A conversation's Message-ID index
// is exported as the digests the adapter keeps (MessageIDKeys).
func (s *Store) ExportTenant(ctx context.Context, domain string, opts inbox.ExportOptions, fn func(inbox.Record) error) error {
	var fnErr error
	emit := func(r inbox.Record) error {
		if err := fn(r); err != nil {
			fnErr = err
			return err
		}
		return nil
	}
	err := s.exportTenant(ctx, domain, opts, emit)
	if fnErr != nil && errors.Is(err, fnErr) {
		return fnErr
	}
	return wrap("export tenant "+domain, err)
}

func (s *Store) exportTenant(ctx context.Context, domain string, opts inbox.ExportOptions, emit func(inbox.Record) error) error {
	tenant := s.tenantRef(domain)
	snap, err := s.get(ctx, nil, tenant)
	if err != nil {
		return err
	}
	t, err := decodeTenant(domain, snap)
	if err != nil {
		return err
	}
	if err := emit(inbox.Record{Kind: inbox.RecordTenant, Tenant: &t}); err != nil {
		return err
	}
	err = s.docs(tenant.Collection(collInboxes).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
		var d inboxDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode inbox %s: %w", snap.Ref.ID, err)
		}
		ib, err := decodeInbox(domain, d)
		if err != nil {
			return err
		}
		return emit(inbox.Record{Kind: inbox.RecordInbox, Inbox: &ib})
	})
	if err != nil {
		return fmt.Errorf("export inboxes: %w", err)
	}
	err = s.subDocs(ctx, tenant.Collection(collInboxes), collTemplates, func(inboxID string, snap *firestore.DocumentSnapshot) error {
		t, err := decodeTemplate(domain, inboxID, snap)
		if err != nil {
			return err
		}
		return emit(inbox.Record{Kind: inbox.RecordTemplate, Template: &t})
	})
	if err != nil {
		return fmt.Errorf("export templates: %w", err)
	}
	err = s.docs(tenant.Collection(collAssign).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
		var d assignDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode assignment state %s: %w", snap.Ref.ID, err)
		}
		a := inbox.AssignStateRecord{TenantID: domain, InboxID: undocID(snap.Ref.ID), State: inbox.AssignState{Last: d.Last}}
		if len(d.Waiting) > 0 {
			a.State.Waiting = d.Waiting
		}
		return emit(inbox.Record{Kind: inbox.RecordAssignState, AssignState: &a})
	})
	if err != nil {
		return fmt.Errorf("export assignment state: %w", err)
	}
	err = s.docs(tenant.Collection(collUserPrefs).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
		var d prefsDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode preferences %s: %w", snap.Ref.ID, err)
		}
		p := inbox.UserPrefs{TenantID: domain, Email: d.Email, Language: d.Language, UpdatedAt: utc(d.UpdatedAt)}
		return emit(inbox.Record{Kind: inbox.RecordUserPrefs, UserPrefs: &p})
	})
	if err != nil {
		return fmt.Errorf("export preferences: %w", err)
	}
	var mailboxes []inbox.Mailbox
	err = s.docs(s.collection(collMailboxes).Where(fieldTenantID, "==", domain).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
		m, err := decodeMailbox(snap)
		if err != nil {
			return err
		}
		mailboxes = append(mailboxes, inbox.PortableMailbox(m, opts))
		return nil
	})
	if err != nil {
		return fmt.Errorf("export mailboxes: %w", err)
	}
	slices.SortFunc(mailboxes, func(a, b inbox.Mailbox) int { return cmp.Compare(a.Address, b.Address) })
	for _, m := range mailboxes {
		if err := emit(inbox.Record{Kind: inbox.RecordMailbox, Mailbox: &m}); err != nil {
			return err
		}
	}

	// Conversations, then the history of each: the stream order puts
	// every conversation before the notes and entries of any.
	var convs []*firestore.DocumentRef
	err = s.docs(tenant.Collection(collConversations).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
		c, d, err := decodeConversation(domain, snap)
		if err != nil {
			return err
		}
		convs = append(convs, snap.Ref)
		return emit(inbox.Record{Kind: inbox.RecordConversation, Conversation: &inbox.ConversationRecord{Conversation: c, MessageIDKeys: inbox.SortedCopy(d.Mids)}})
	})
	if err != nil {
		return fmt.Errorf("export conversations: %w", err)
	}
	for _, ref := range convs {
		convID := undocID(ref.ID)
		err := s.docs(ref.Collection(collNotes).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
			var d noteDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode note %s: %w", snap.Ref.ID, err)
			}
			n := decodeNote(domain, convID, d)
			if len(n.Mentions) == 0 {
				n.Mentions = nil
			}
			return emit(inbox.Record{Kind: inbox.RecordNote, Note: &n})
		})
		if err != nil {
			return fmt.Errorf("export notes of %s: %w", convID, err)
		}
	}
	for _, ref := range convs {
		convID := undocID(ref.ID)
		err := s.docs(ref.Collection(collActivity).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
			var d activityDoc
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode activity %s: %w", snap.Ref.ID, err)
			}
			a := decodeActivity(domain, convID, d)
			return emit(inbox.Record{Kind: inbox.RecordActivity, Activity: &a})
		})
		if err != nil {
			return fmt.Errorf("export activity of %s: %w", convID, err)
		}
	}
	var links []inbox.ThreadLink
	err = s.docs(tenant.Collection(collConversationLinks).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
		var d convLinksDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode thread links %s: %w", snap.Ref.ID, err)
		}
		links = append(links, d.links()...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("export thread links: %w", err)
	}
	slices.SortFunc(links, func(a, b inbox.ThreadLink) int {
		return cmp.Or(cmp.Compare(a.ConversationID, b.ConversationID), cmp.Compare(a.Mailbox, b.Mailbox), cmp.Compare(a.ThreadID, b.ThreadID))
	})
	for _, l := range links {
		if err := emit(inbox.Record{Kind: inbox.RecordThreadLink, ThreadLink: &l}); err != nil {
			return err
		}
	}
	err = s.subDocs(ctx, tenant.Collection(collUsers), collMentions, func(recipient string, snap *firestore.DocumentSnapshot) error {
		m, err := decodeMention(domain, recipient, snap)
		if err != nil {
			return err
		}
		return emit(inbox.Record{Kind: inbox.RecordMention, Mention: &m})
	})
	if err != nil {
		return fmt.Errorf("export mentions: %w", err)
	}
	return nil
}

// subDocs calls fn for every document of the sub collection sub of each
// document of coll, with that parent's id as the store knows it.
func (s *Store) subDocs(ctx context.Context, coll *firestore.CollectionRef, sub string, fn func(parent string, snap *firestore.DocumentSnapshot) error) error {
	parents, err := refs(ctx, coll)
	if err != nil {
		return fmt.Errorf("list %s: %w", coll.ID, err)
	}
	for _, p := range parents {
		id := undocID(p.ID)
		err := s.docs(p.Collection(sub).Documents(ctx), func(snap *firestore.DocumentSnapshot) error { return fn(id, snap) })
		if err != nil {
			return fmt.Errorf("%s of %s: %w", sub, id, err)
		}
	}
	return nil
}

// ImportRecords implements inbox.Store with a BulkWriter (batches of up
// to 20 writes, retried on contention by the client): not atomic, see the
// contract. A conversation document is written without its copy of the
// recent history (as one written before the copy existed): RecentHistory
// reads the subcollections until the next write of its history fills it.
// A Message-ID index given in clear is digested (inbox.MessageIDKey).
func (s *Store) ImportRecords(ctx context.Context, records []inbox.Record) error {
	if len(records) == 0 {
		return nil
	}
	tenant := records[0].TenantOf()
	op := "import records of " + tenant
	for _, r := range records {
		if err := r.Validate(tenant); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	// The checks a create would make: a mailbox address is global, an
	// inbox address is claimed within the tenant.
	for _, r := range records {
		switch {
		case r.Mailbox != nil:
			snap, err := s.get(ctx, nil, s.mailboxRef(r.Mailbox.Address))
			if err == nil {
				var d mailboxDoc
				if err := snap.DataTo(&d); err != nil {
					return fmt.Errorf("%s: decode mailbox %s: %w", op, r.Mailbox.Address, err)
				}
				if d.TenantID != r.Mailbox.TenantID {
					return fmt.Errorf("%s: mailbox %s is linked to another tenant: %w", op, r.Mailbox.Address, inbox.ErrAlreadyExists)
				}
			} else if !errors.Is(kindOf(err), inbox.ErrNotFound) {
				return wrap(op, err)
			}
		case r.Inbox != nil:
			snap, err := s.get(ctx, nil, s.claimRef(tenant, r.Inbox.Address))
			if err == nil {
				var d addressClaim
				if err := snap.DataTo(&d); err != nil {
					return fmt.Errorf("%s: decode address claim: %w", op, err)
				}
				if d.InboxID != r.Inbox.ID {
					return fmt.Errorf("%s: address %s is taken by inbox %s: %w", op, r.Inbox.Address, d.InboxID, inbox.ErrAlreadyExists)
				}
			} else if !errors.Is(kindOf(err), inbox.ErrNotFound) {
				return wrap(op, err)
			}
		}
	}
	err := s.runBulk(ctx, func(b *bulk) error {
		var links []inbox.ThreadLink
		mids := map[[2]string]map[string]string{} // (tenant, hash) → inbox → conversation
		var midKeys [][2]string
		for _, r := range records {
			if err := s.importRecord(r, b.set); err != nil {
				return fmt.Errorf("%s record: %w", r.Kind, err)
			}
			switch r.Kind {
			case inbox.RecordThreadLink:
				links = append(links, *r.ThreadLink)
			case inbox.RecordConversation:
				c := r.Conversation.Conversation
				for _, h := range recordMids(r.Conversation) {
					k := [2]string{c.TenantID, h}
					if mids[k] == nil {
						mids[k] = map[string]string{}
						midKeys = append(midKeys, k)
					}
					mids[k][c.InboxID] = c.ID
				}
			}
		}
		// The Message-ID index, each entry once.
		for _, k := range midKeys {
			if err := b.set(s.midRef(k[0], k[1]), midEntry(mids[k]), firestore.MergeAll); err != nil {
				return fmt.Errorf("%s record: %w", inbox.RecordConversation, err)
			}
		}
		// Both sides of the links, each document once.
		if err := s.writeLinks(links, b.set); err != nil {
			return fmt.Errorf("%s record: %w", inbox.RecordThreadLink, err)
		}
		return nil
	})
	return wrap(op, err)
}

func (s *Store) importRecord(r inbox.Record, set func(*firestore.DocumentRef, any, ...firestore.SetOption) error) error {
	switch r.Kind {
	case inbox.RecordTenant:
		return set(s.tenantRef(r.Tenant.Domain), encodeTenant(*r.Tenant))
	case inbox.RecordInbox:
		ib := r.Inbox
		d, err := encodeInbox(*ib)
		if err != nil {
			return err
		}
		if err := set(s.inboxRef(ib.TenantID, ib.ID), d); err != nil {
			return err
		}
		return set(s.claimRef(ib.TenantID, ib.Address), addressClaim{InboxID: ib.ID})
	case inbox.RecordTemplate:
		t := r.Template
		return set(s.templateRef(t.TenantID, t.InboxID, t.ID), encodeTemplate(*t))
	case inbox.RecordAssignState:
		a := r.AssignState
		waiting := a.State.Waiting
		if waiting == nil {
			waiting = []string{}
		}
		return set(s.assignRef(a.TenantID, a.InboxID), assignDoc{Last: a.State.Last, Waiting: waiting})
	case inbox.RecordUserPrefs:
		p := r.UserPrefs
		return set(s.prefsRef(p.TenantID, p.Email), prefsDoc{Email: p.Email, Language: p.Language, UpdatedAt: utc(p.UpdatedAt)})
	case inbox.RecordMailbox:
		return set(s.mailboxRef(r.Mailbox.Address), encodeMailbox(*r.Mailbox))
	case inbox.RecordConversation:
		c := r.Conversation.Conversation
		d, err := encodeConversation(c, recordMids(r.Conversation), nil)
		if err != nil {
			return err
		}
		if err := set(s.conversationRef(c.TenantID, c.ID), d); err != nil {
			return err
		}
		if !c.DueAt.IsZero() {
			return set(s.dueRef(c.TenantID, c.ID), dueDoc{TenantID: c.TenantID, ConversationID: c.ID, DueAt: c.DueAt})
		}
		return nil
	case inbox.RecordNote:
		n := r.Note
		return set(s.noteRef(n.TenantID, n.ConversationID, n.ID), encodeNote(*n))
	case inbox.RecordActivity:
		a := r.Activity
		return set(s.conversationRef(a.TenantID, a.ConversationID).Collection(collActivity).Doc(docID(a.ID)), encodeActivity(*a))
	case inbox.RecordThreadLink:
		if r.ThreadLink == nil {
			return invalid("a thread link record without its link")
		}
		return nil // written by ImportRecords, both sides at once
	case inbox.RecordMention:
		m := r.Mention
		return set(s.mentionRef(m.TenantID, m.Recipient, m.NoteID), encodeMention(*m))
	}
	return invalid("unknown record kind %q", r.Kind)
}

// recordMids is the Message-ID index entries of an imported
// conversation: the hashes an export of Firestore carries and the ids an
// export of SQLite carries, hashed.
func recordMids(r *inbox.ConversationRecord) []string {
	mids := slices.Clone(r.MessageIDKeys)
	for _, id := range r.MessageIDs {
		mids = append(mids, midHash(id))
	}
	return inbox.SortedCopy(mids)
}

// EraseTenant implements inbox.Store with a BulkWriter (which batches and
// throttles the deletes itself, so a tenant of any size erases): every
// document below tenants/{domain}, found by listing each document's
// subcollections (DocumentRef.Collections) down to the leaves, the
// missing parents that only hold subcollections included, and the
// tenant's documents of the top-level collections that name it
// (mailboxes with their threads, due). The tenant document goes last, so an
// erase cut short leaves it to be found and erased again.
func (s *Store) EraseTenant(ctx context.Context, domain string) error {
	op := "erase tenant " + domain
	err := s.runBulk(ctx, func(b *bulk) error {
		for _, coll := range []string{collMailboxes, collDue} {
			err := s.docs(s.collection(coll).Where(fieldTenantID, "==", domain).Documents(ctx), func(snap *firestore.DocumentSnapshot) error {
				if coll == collMailboxes {
					if err := s.deleteBelow(ctx, snap.Ref, b.delete); err != nil {
						return err
					}
				}
				return b.delete(snap.Ref)
			})
			if err != nil {
				return fmt.Errorf("list %s: %w", coll, err)
			}
		}
		return s.deleteBelow(ctx, s.tenantRef(domain), b.delete)
	})
	if err != nil {
		return wrap(op, err)
	}
	// The tenant document after everything below it has gone.
	if _, err := s.tenantRef(domain).Delete(ctx); err != nil {
		return wrap(op, err)
	}
	s.writes.Add(1)
	return nil
}

// deleteBelow deletes, through del, every document in the subcollections
// of doc, depth first.
func (s *Store) deleteBelow(ctx context.Context, doc *firestore.DocumentRef, del func(*firestore.DocumentRef) error) error {
	it := doc.Collections(ctx)
	for {
		coll, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list collections of %s: %w", doc.Path, err)
		}
		children, err := refs(ctx, coll)
		if err != nil {
			return fmt.Errorf("list %s: %w", coll.Path, err)
		}
		s.reads.Add(int64(max(1, len(children))))
		for _, child := range children {
			if err := s.deleteBelow(ctx, child, del); err != nil {
				return err
			}
			if err := del(child); err != nil {
				return err
			}
		}
	}
}
