package firestoredb

// Temporary: the note edit and mention methods are being written on branch
// notes-fs, which deletes this file. Until then they fail plainly.

import (
	"context"
	"errors"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

var errPending = errors.New("firestoredb: not implemented yet")

// GetNote implements inbox.Store (not yet).
func (s *Store) GetNote(context.Context, string, string, string) (inbox.Note, error) {
	return inbox.Note{}, errPending
}

// UpdateNote implements inbox.Store (not yet).
func (s *Store) UpdateNote(context.Context, string, string, string, func(*inbox.Note) (inbox.Activity, error)) (inbox.Note, error) {
	return inbox.Note{}, errPending
}

// DeleteNote implements inbox.Store (not yet).
func (s *Store) DeleteNote(context.Context, string, string, string, func(inbox.Note) (inbox.Activity, error)) error {
	return errPending
}

// ListMentions implements inbox.Store (not yet).
func (s *Store) ListMentions(context.Context, string, string, bool, int) ([]inbox.Mention, error) {
	return nil, errPending
}

// MarkMentionsRead implements inbox.Store (not yet).
func (s *Store) MarkMentionsRead(context.Context, string, string, []string, time.Time) (int, error) {
	return 0, errPending
}
