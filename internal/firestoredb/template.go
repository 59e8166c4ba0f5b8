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

// collTemplates holds an inbox's templates below the inbox document.
const collTemplates = "templates"

// templateDoc is the stored form of an inbox.Template; its tags are the
// schema. The keys are the document's path.
type templateDoc struct {
	ID        string    `firestore:"id"`
	Name      string    `firestore:"name"`
	Body      string    `firestore:"body"`
	Locked    bool      `firestore:"locked"`
	CreatedAt time.Time `firestore:"createdAt"`
	UpdatedAt time.Time `firestore:"updatedAt"`
	UpdatedBy string    `firestore:"updatedBy"`
}

func encodeTemplate(t inbox.Template) templateDoc {
	return templateDoc{ID: t.ID, Name: t.Name, Body: t.Body, Locked: t.Locked,
		CreatedAt: utc(t.CreatedAt), UpdatedAt: utc(t.UpdatedAt), UpdatedBy: t.UpdatedBy}
}

func decodeTemplate(tenantID, inboxID string, snap *firestore.DocumentSnapshot) (inbox.Template, error) {
	var d templateDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.Template{}, fmt.Errorf("decode %s: %w", snap.Ref.ID, err)
	}
	return inbox.Template{TenantID: tenantID, InboxID: inboxID, ID: d.ID, Name: d.Name, Body: d.Body, Locked: d.Locked,
		CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt), UpdatedBy: d.UpdatedBy}, nil
}

func (s *Store) templates(tenantID, inboxID string) *firestore.CollectionRef {
	return s.inboxRef(tenantID, inboxID).Collection(collTemplates)
}

func (s *Store) templateRef(tenantID, inboxID, id string) *firestore.DocumentRef {
	return s.templates(tenantID, inboxID).Doc(docID(id))
}

// CreateTemplate implements inbox.Store: one transaction reads the inbox
// (it must exist) and the template's id, and creates the document.
func (s *Store) CreateTemplate(ctx context.Context, t inbox.Template) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	ib, ref := s.inboxRef(t.TenantID, t.InboxID), s.templateRef(t.TenantID, t.InboxID, t.ID)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snaps, err := s.getAll(ctx, tx, ib, ref)
		if err != nil {
			return err
		}
		switch {
		case !snaps[0].Exists():
			return fmt.Errorf("inbox: %w", inbox.ErrNotFound)
		case snaps[1].Exists():
			return fmt.Errorf("id is taken: %w", inbox.ErrAlreadyExists)
		}
		return tx.create(ref, encodeTemplate(t))
	})
	return wrapCommit(fmt.Sprintf("create template %s/%s/%s", t.TenantID, t.InboxID, t.ID), err)
}

// GetTemplate implements inbox.Store: one document read.
func (s *Store) GetTemplate(ctx context.Context, tenantID, inboxID, id string) (inbox.Template, error) {
	op := fmt.Sprintf("get template %s/%s/%s", tenantID, inboxID, id)
	if tenantID == "" || inboxID == "" || id == "" {
		return inbox.Template{}, fmt.Errorf("%s: %w", op, inbox.ErrNotFound)
	}
	snap, err := s.get(ctx, nil, s.templateRef(tenantID, inboxID, id))
	if err != nil {
		return inbox.Template{}, wrap(op, err)
	}
	t, err := decodeTemplate(tenantID, inboxID, snap)
	if err != nil {
		return inbox.Template{}, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

// ListTemplates implements inbox.Store. An inbox has a few dozen
// templates at most: they are read whole (no index) and sorted here, by
// name then id.
func (s *Store) ListTemplates(ctx context.Context, tenantID, inboxID string) ([]inbox.Template, error) {
	op := fmt.Sprintf("list templates of %s/%s", tenantID, inboxID)
	if tenantID == "" || inboxID == "" {
		return nil, nil
	}
	snaps, err := s.query(ctx, nil, querySpec{coll: s.templates(tenantID, inboxID)})
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []inbox.Template
	for _, snap := range snaps {
		t, err := decodeTemplate(tenantID, inboxID, snap)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b inbox.Template) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateTemplate implements inbox.Store: read, fn, check and a write on
// the condition that the template did not change since the read (see
// replace), rerun (fn included) when it did.
func (s *Store) UpdateTemplate(ctx context.Context, tenantID, inboxID, id string, fn func(*inbox.Template) error) (inbox.Template, error) {
	var result inbox.Template
	err := s.replace(ctx, s.templateRef(tenantID, inboxID, id), func(snap *firestore.DocumentSnapshot) (any, error) {
		stored, err := decodeTemplate(tenantID, inboxID, snap)
		if err != nil {
			return nil, err
		}
		t := stored
		if err := fn(&t); err != nil {
			return nil, fnError{err}
		}
		if err := t.ValidateUpdate(stored); err != nil {
			return nil, err
		}
		result = t
		return encodeTemplate(t), nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return inbox.Template{}, fe.err
	}
	if err != nil {
		return inbox.Template{}, wrapCommit(fmt.Sprintf("update template %s/%s/%s", tenantID, inboxID, id), err)
	}
	return result, nil
}

// DeleteTemplate implements inbox.Store: one transaction reads the
// template (it must exist) and deletes it.
func (s *Store) DeleteTemplate(ctx context.Context, tenantID, inboxID, id string) error {
	ref := s.templateRef(tenantID, inboxID, id)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		if _, err := s.get(ctx, tx, ref); err != nil {
			return wrap("read stored template", err)
		}
		return tx.delete(ref)
	})
	return wrapCommit(fmt.Sprintf("delete template %s/%s/%s", tenantID, inboxID, id), err)
}
