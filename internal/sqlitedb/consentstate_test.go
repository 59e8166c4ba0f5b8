package sqlitedb

import (
	"context"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// TestMigrate0015 takes a database back to schema 14 (no spent consent
// state) with a connected mailbox in it and reopens it: the mailbox has
// spent no state, and one spent afterwards is kept to the microsecond.
func TestMigrate0015(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := MustOpenTemp(t)
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	m := inbox.Mailbox{Address: "alice@acme.example", TenantID: "acme.example", Kind: inbox.MailboxMember,
		Access: inbox.AccessOAuth, SealedToken: []byte("sealed"), ConnectedBy: "alice@acme.example", CreatedAt: time.Now()}
	if err := s.CreateMailbox(ctx, m); err != nil {
		t.Fatal(err)
	}
	rewind(t, s, 14)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	got, err := s2.GetMailbox(ctx, m.Address)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ConsentStateExpires.IsZero() || string(got.SealedToken) != "sealed" {
		t.Errorf("mailbox after migrating: consent state %v, token %q; want none and the token", got.ConsentStateExpires, got.SealedToken)
	}
	spent := time.Date(2026, time.March, 1, 12, 10, 0, 123_456_000, time.UTC)
	got, err = s2.UpdateMailbox(ctx, m.Address, func(m *inbox.Mailbox) error {
		m.ConsentStateExpires = spent
		return nil
	})
	if err != nil || !got.ConsentStateExpires.Equal(spent) {
		t.Errorf("UpdateMailbox(consent state) = %v, %v; want %v", got.ConsentStateExpires, err, spent)
	}
}
