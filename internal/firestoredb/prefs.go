package firestoredb

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// collUserPrefs holds the users' preferences below their tenant.
const collUserPrefs = "userPrefs"

// prefsDoc is the stored form of an inbox.UserPrefs; its tags are the schema.
type prefsDoc struct {
	Email     string    `firestore:"email"`
	Language  string    `firestore:"language"`
	UpdatedAt time.Time `firestore:"updatedAt"`
}

func (s *Store) prefsRef(tenantID, email string) *firestore.DocumentRef {
	return s.tenantRef(tenantID).Collection(collUserPrefs).Doc(docID(email))
}

// GetUserPrefs implements inbox.Store: one document read.
func (s *Store) GetUserPrefs(ctx context.Context, tenantID, email string) (inbox.UserPrefs, error) {
	op := "get preferences of " + email + " in " + tenantID
	if tenantID == "" || email == "" {
		return inbox.UserPrefs{}, fmt.Errorf("%s: %w", op, inbox.ErrNotFound)
	}
	snap, err := s.get(ctx, nil, s.prefsRef(tenantID, email))
	if err != nil {
		return inbox.UserPrefs{}, wrap(op, err)
	}
	var d prefsDoc
	if err := snap.DataTo(&d); err != nil {
		return inbox.UserPrefs{}, fmt.Errorf("%s: decode: %w", op, err)
	}
	return inbox.UserPrefs{TenantID: tenantID, Email: email, Language: d.Language, UpdatedAt: utc(d.UpdatedAt)}, nil
}

// PutUserPrefs implements inbox.Store: in one transaction, the tenant is
// read (it must exist) and the preferences document is set.
func (s *Store) PutUserPrefs(ctx context.Context, p inbox.UserPrefs) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("put preferences: %w", err)
	}
	tenant, ref := s.tenantRef(p.TenantID), s.prefsRef(p.TenantID, p.Email)
	err := s.runTx(ctx, func(ctx context.Context, tx *txn) error {
		snaps, err := s.getAll(ctx, tx, tenant)
		if err != nil {
			return err
		}
		if !snaps[0].Exists() {
			return fmt.Errorf("tenant %s: %w", p.TenantID, inbox.ErrNotFound)
		}
		return tx.set(ref, prefsDoc{Email: p.Email, Language: p.Language, UpdatedAt: utc(p.UpdatedAt)})
	})
	return wrapCommit("put preferences of "+p.Email+" in "+p.TenantID, err)
}
