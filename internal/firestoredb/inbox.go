package firestoredb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// tenantDoc is the stored form of an inbox.Tenant; its tags are the schema.
type tenantDoc struct {
	Domain    string    `firestore:"domain"`
	Name      string    `firestore:"name"`
	Admins    []string  `firestore:"admins"` // in the order given
	CreatedAt time.Time `firestore:"createdAt"`
}

func encodeTenant(t inbox.Tenant) tenantDoc {
	admins := t.Admins
	if admins == nil {
		admins = []string{}
	}
	return tenantDoc{Domain: t.Domain, Name: t.Name, Admins: admins, CreatedAt: t.CreatedAt}
}

func decodeTenant(domain string, snap *firestore.DocumentSnapshot) (inbox.Tenant, error) {
	var d tenantDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Tenant{}, fmt.Errorf("decode tenant %s: %w", domain, err)
	}
	t := inbox.Tenant{Domain: domain, Name: d.Name, CreatedAt: utc(d.CreatedAt)}
	if len(d.Admins) > 0 {
		t.Admins = d.Admins
	}
	return t, nil
}

// CreateTenant implements inbox.Store.
func (s *Store) CreateTenant(ctx context.Context, t inbox.Tenant) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	err := s.create(ctx, s.tenantRef(t.Domain), encodeTenant(t))
	return wrapCommit("create tenant "+t.Domain, err)
}

// GetTenant implements inbox.Store.
func (s *Store) GetTenant(ctx context.Context, domain string) (inbox.Tenant, error) {
	snap, err := s.get(ctx, nil, s.tenantRef(domain))
	if err != nil {
		return inbox.Tenant{}, wrap("get tenant "+domain, err)
	}
	t, err := decodeTenant(domain, snap)
	if err != nil {
		return inbox.Tenant{}, fmt.Errorf("get tenant %s: %w", domain, err)
	}
	return t, nil
}

// UpdateTenant implements inbox.Store: read, fn, check and a write on the
// condition that the tenant did not change since the read (see replace),
// rerun (fn included) when it did.
func (s *Store) UpdateTenant(ctx context.Context, domain string, fn func(*inbox.Tenant) error) (inbox.Tenant, error) {
	ref := s.tenantRef(domain)
	var result inbox.Tenant
	err := s.replace(ctx, ref, func(snap *firestore.DocumentSnapshot) (any, error) {
		t, err := decodeTenant(domain, snap) // decoded for fn alone: it may change the slice freely
		if err != nil {
			return nil, err
		}
		if err := fn(&t); err != nil {
			return nil, fnError{err}
		}
		if err := t.ValidateUpdate(inbox.Tenant{Domain: domain}); err != nil {
			return nil, err
		}
		result = t
		return encodeTenant(t), nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Tenant{}, fe.err
	}
	if err != nil {
		return inbox.Tenant{}, wrapCommit("update tenant "+domain, err)
	}
	return result, nil
}

// memberDoc is the stored form of an inbox.Member.
type memberDoc struct {
	Email string `firestore:"email"`
	Name  string `firestore:"name"`
	Role  string `firestore:"role"`
}

// inboxDoc is the stored form of an inbox.Inbox.
type inboxDoc struct {
	ID        string      `firestore:"id"`
	Address   string      `firestore:"address"`
	Name      string      `firestore:"name"`
	Members   []memberDoc `firestore:"members"`
	Settings  settingsDoc `firestore:"settings"`
	CreatedAt time.Time   `firestore:"createdAt"`
}

func encodeInbox(ib inbox.Inbox) (inboxDoc, error) {
	d := inboxDoc{ID: ib.ID, Address: ib.Address, Name: ib.Name, Members: []memberDoc{}, CreatedAt: ib.CreatedAt}
	for _, m := range ib.Members {
		d.Members = append(d.Members, memberDoc{Email: m.Email, Name: m.Name, Role: string(m.Role)})
	}
	d.Settings.ReplyStatus = string(ib.Settings.ReplyStatus)
	d.Settings.LabelPrefix = ib.Settings.LabelPrefix
	d.Settings.Language = ib.Settings.Language
	d.Settings.ReplyFrom = string(ib.Settings.ReplyFrom)
	w, err := inbox.EncodeJSON(ib.Settings.Workflow)
	if err != nil {
		return inboxDoc{}, err
	}
	if w != "{}" {
		d.Settings.Workflow = w
	}
	return d, nil
}

func decodeInbox(tenantID string, d inboxDoc) (inbox.Inbox, error) {
	ib := inbox.Inbox{
		TenantID:  tenantID,
		ID:        d.ID,
		Address:   d.Address,
		Name:      d.Name,
		CreatedAt: utc(d.CreatedAt),
		Settings: inbox.InboxSettings{
			ReplyStatus: inbox.Status(d.Settings.ReplyStatus),
			LabelPrefix: d.Settings.LabelPrefix,
			Language:    d.Settings.Language,
			ReplyFrom:   inbox.ReplyFrom(d.Settings.ReplyFrom),
		},
	}
	for _, m := range d.Members {
		ib.Members = append(ib.Members, inbox.Member{Email: m.Email, Name: m.Name, Role: inbox.Role(m.Role)})
	}
	if err := inbox.DecodeJSON(d.Settings.Workflow, &ib.Settings.Workflow); err != nil {
		return inbox.Inbox{}, fmt.Errorf("inbox %s: %w", d.ID, err)
	}
	return ib, nil
}

// addressClaim is the document that reserves an inbox address in a tenant.
type addressClaim struct {
	InboxID string `firestore:"inboxId"`
}

func (s *Store) claimRef(tenantID, address string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collInboxAddresses).Doc(docID(address))
}

// CreateInbox implements inbox.Store. The inbox and the claim on its
// address are created together; both must not exist yet.
func (s *Store) CreateInbox(ctx context.Context, ib inbox.Inbox) error {
	if err := ib.Validate(); err != nil {
		return fmt.Errorf("create inbox: %w", err)
	}
	op := fmt.Sprintf("create inbox %s/%s", ib.TenantID, ib.ID)
	tenant := s.tenantRef(ib.TenantID)
	ref := s.inboxRef(ib.TenantID, ib.ID)
	claim := s.claimRef(ib.TenantID, ib.Address)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snaps, err := s.getAll(ctx, tx, tenant, ref, claim)
		if err != nil {
			return err
		}
		switch {
		case !snaps[0].Exists():
			return fmt.Errorf("tenant: %w", inbox.ErrNotFound)
		case snaps[1].Exists():
			return fmt.Errorf("id is taken: %w", inbox.ErrAlreadyExists)
		case snaps[2].Exists():
			return fmt.Errorf("address %s is taken: %w", ib.Address, inbox.ErrAlreadyExists)
		}
		doc, err := encodeInbox(ib)
		if err != nil {
			return err
		}
		if err := tx.create(ref, doc); err != nil {
			return err
		}
		return tx.create(claim, addressClaim{InboxID: ib.ID})
	})
	return wrapCommit(op, err)
}

// GetInbox implements inbox.Store.
func (s *Store) GetInbox(ctx context.Context, tenantID, inboxID string) (inbox.Inbox, error) {
	op := fmt.Sprintf("get inbox %s/%s", tenantID, inboxID)
	snap, err := s.get(ctx, nil, s.inboxRef(tenantID, inboxID))
	if err != nil {
		return inbox.Inbox{}, wrap(op, err)
	}
	var d inboxDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Inbox{}, fmt.Errorf("%s: decode: %w", op, err)
	}
	ib, err := decodeInbox(tenantID, d)
	if err != nil {
		return inbox.Inbox{}, fmt.Errorf("%s: %w", op, err)
	}
	return ib, nil
}

// UpdateInbox implements inbox.Store: read, fn, check and a write on the
// condition that the inbox did not change since the read (see replace),
// rerun (fn included) when it did. The
// address cannot change, so its claim is not touched. Everything but the
// keys and the address is written, CreatedAt included.
func (s *Store) UpdateInbox(ctx context.Context, tenantID, inboxID string, fn func(*inbox.Inbox) error) (inbox.Inbox, error) {
	ref := s.inboxRef(tenantID, inboxID)
	var result inbox.Inbox
	err := s.replace(ctx, ref, func(snap *firestore.DocumentSnapshot) (any, error) {
		var d inboxDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		stored, err := decodeInbox(tenantID, d)
		if err != nil {
			return nil, err
		}
		ib, _ := decodeInbox(tenantID, d) // fn's own copy: no slice shared with stored
		if err := fn(&ib); err != nil {
			return nil, fnError{err}
		}
		if err := ib.ValidateUpdate(stored); err != nil {
			return nil, err
		}
		result = ib
		return encodeInbox(ib)
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Inbox{}, fe.err
	}
	if err != nil {
		return inbox.Inbox{}, wrapCommit(fmt.Sprintf("update inbox %s/%s", tenantID, inboxID), err)
	}
	return result, nil
}

// DeleteInbox implements inbox.Store: one transaction deletes the inbox and
// its claim on the address (if the claim is still the inbox's). Its
// conversations, with their notes, activity and Message-IDs, stay.
func (s *Store) DeleteInbox(ctx context.Context, tenantID, inboxID string) error {
	ref := s.inboxRef(tenantID, inboxID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snap, err := s.get(ctx, tx, ref)
		if err != nil {
			return wrap("read stored inbox", err)
		}
		var d inboxDoc
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		claim := s.claimRef(tenantID, d.Address)
		claimSnap, err := s.getAll(ctx, tx, claim)
		if err != nil {
			return err
		}
		var c addressClaim
		if claimSnap[0].Exists() {
			if err := claimSnap[0].DataTo(&c); err != nil {
				return fmt.Errorf("decode address claim: %w", err)
			}
		}
		if err := tx.delete(ref); err != nil {
			return err
		}
		if c.InboxID == inboxID {
			return tx.delete(claim)
		}
		return nil
	})
	return wrapCommit(fmt.Sprintf("delete inbox %s/%s", tenantID, inboxID), err)
}

// ListInboxes implements inbox.Store. A tenant has a handful of inboxes:
// they are read whole and sorted here, by name then id (Go string order).
func (s *Store) ListInboxes(ctx context.Context, tenantID string) ([]inbox.Inbox, error) {
	op := "list inboxes of " + tenantID
	snaps, err := s.query(ctx, nil, querySpec{coll: s.tenantRef(tenantID).Collection(collInboxes)})
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]inbox.Inbox, 0, len(snaps))
	for _, snap := range snaps {
		var d inboxDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", op, snap.Ref.ID, err)
		}
		ib, err := decodeInbox(tenantID, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, ib)
	}
	slices.SortFunc(out, func(a, b inbox.Inbox) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// settingsDoc is the stored form of inbox.InboxSettings.
type settingsDoc struct {
	ReplyStatus string `firestore:"replyStatus"`
	LabelPrefix string `firestore:"labelPrefix"`
	// Language is absent in inboxes stored before it existed: "".
	Language string `firestore:"language,omitempty"`
	// ReplyFrom is absent in inboxes stored before it existed: "".
	ReplyFrom string `firestore:"replyFrom,omitempty"`
	// Workflow is inbox.Workflow as JSON; absent in inboxes stored before
	// it existed.
	Workflow string `firestore:"workflow,omitempty"`
}
