package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
	"github.com/postfach/postfach/internal/syncer"
)

// TestReconcileCountsTask drives POST /tasks/reconcile-counts as Cloud
// Scheduler does (an OIDC token of the scheduler's service account for the
// task's URL): counts made wrong behind the store's back (an UPDATE of the
// SQLite file's counts) are reported and repaired, a second run finds
// nothing, and a request without the scheduler's token is refused.
func TestReconcileCountsTask(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "postfach.db")
	store, err := sqlitedb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	ib := inbox.Inbox{TenantID: "acme.example", ID: "support", Address: "support@acme.example", Name: "Support",
		Members: []inbox.Member{{Email: "bob@acme.example", Role: inbox.RoleAgent}}, Settings: inbox.DefaultInboxSettings(), CreatedAt: now}
	if err := store.CreateTenant(ctx, inbox.Tenant{Domain: ib.TenantID, Name: "Acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateInbox(ctx, ib); err != nil {
		t.Fatal(err)
	}
	c, created, err := inbox.StartConversation(ib, inbox.Headers{MessageID: "<m1@customer.example>", From: "x@customer.example", To: ib.Address, Date: now}.Mail(), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateConversation(ctx, c, []string{c.RootMessageID}, created); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE inbox_counts SET n = n + 41 WHERE bucket = 'open'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := addon.NewIDTokens(ctx, root.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	const base, scheduler = "https://postfach.example", "scheduler@acme-postfach.iam.gserviceaccount.com"
	s, err := New(Options{
		Verify:  func(next echo.HandlerFunc) echo.HandlerFunc { return next },
		Desk:    desk.New(desk.Options{Store: store}),
		BaseURL: base,
		Logger:  slog.New(slog.DiscardHandler),
		Sync: &SyncOptions{
			Syncer:                  syncer.New(syncer.Options{Store: store}),
			Tokens:                  tokens,
			SchedulerServiceAccount: scheduler,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := root.SystemIDToken(base+PathReconcile, scheduler)
	other, _ := root.SystemIDToken(base+PathReconcile, "someone@evil.example")
	post := func(token string) (int, map[string]json.RawMessage) {
		t.Helper()
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, PathReconcile, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.echo.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		var out map[string]json.RawMessage
		_ = json.Unmarshal(body, &out)
		return rec.Code, out
	}
	for _, tok := range []string{"", other} {
		if code, _ := post(tok); code != http.StatusUnauthorized {
			t.Errorf("POST %s with token %q…: status %d, want %d", PathReconcile, tok[:min(len(tok), 8)], code, http.StatusUnauthorized)
		}
	}
	if got, _ := store.InboxCounts(ctx, ib.TenantID, ib.ID); got.Open != 42 {
		t.Fatalf("the refused requests changed the counts: %+v", got)
	}

	code, out := post(good)
	if code != http.StatusOK {
		t.Fatalf("POST %s: status %d, want 200", PathReconcile, code)
	}
	var repaired map[string]struct{ Kept, Counted inbox.Counts }
	if err := json.Unmarshal(out["repaired"], &repaired); err != nil {
		t.Fatalf("repaired: %v (%s)", err, out["repaired"])
	}
	if r, ok := repaired["acme.example/support"]; !ok || r.Kept.Open != 42 || r.Counted.Open != 1 {
		t.Errorf("repaired = %+v, want acme.example/support from 42 open to 1", repaired)
	}
	if got, want := string(out["inboxes"]), "1"; got != want {
		t.Errorf("inboxes = %s, want %s", got, want)
	}
	if got, _ := store.InboxCounts(ctx, ib.TenantID, ib.ID); !got.Equal(inbox.Counts{Open: 1, Unassigned: 1}) {
		t.Errorf("InboxCounts after the task = %+v, want 1 open, unassigned", got)
	}
	if code, out := post(good); code != http.StatusOK || string(out["repaired"]) != "{}" {
		t.Errorf("second run: status %d, repaired %s; want 200 and nothing", code, out["repaired"])
	}
}
