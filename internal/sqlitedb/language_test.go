package sqlitedb

import (
	"context"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// TestMigrate0006 takes a database back to schema 5 (no inbox language)
// with an inbox in it and reopens it: the inbox's labels stay English ("")
// and a language set afterwards is kept.
func TestMigrate0006(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := MustOpenTemp(t)
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: "acme.example", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support", Settings: inbox.DefaultInboxSettings()}
	ib.Settings.Language = "de"
	if err := s.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	rewind(t, s, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	got, err := s2.GetInbox(ctx, "acme.example", "support")
	if err != nil {
		t.Fatal(err)
	}
	if got.Settings.Language != "" {
		t.Errorf("language after migrating = %q, want \"\" (English)", got.Settings.Language)
	}
	got, err = s2.UpdateInbox(ctx, "acme.example", "support", func(ib *inbox.Inbox) error {
		ib.Settings.Language = "de"
		return nil
	})
	if err != nil || got.Settings.Language != "de" {
		t.Errorf("UpdateInbox(language de) = %q, %v", got.Settings.Language, err)
	}
}
