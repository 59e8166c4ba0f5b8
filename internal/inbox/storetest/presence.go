package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func presenceCases() []testCase {
	return []testCase{
		{"Empty", testPresenceEmpty},
		{"RoundTrip", testPresenceRoundTrip},
		{"TenantScoped", testPresenceTenantScoped},
		{"FnErrorWritesNothing", testPresenceFnError},
		{"Invalid", testPresenceInvalid},
		{"LogActivity", testPresenceLogActivity},
		{"LogActivityUnknownConversation", testPresenceLogActivityUnknown},
	}
}

// mustGetPresence reads a presence record.
func mustGetPresence(t *testing.T, s inbox.Store, tenantID, id string) inbox.Presence {
	t.Helper()
	p, err := s.GetPresence(t.Context(), tenantID, id)
	if err != nil {
		t.Fatalf("GetPresence(%s, %s): %v", tenantID, id, err)
	}
	return p
}

// testPresenceEmpty: a conversation nobody opened has an empty record.
func testPresenceEmpty(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	p := mustGetPresence(t, f.s, domainA, c.ID)
	want := inbox.Presence{TenantID: domainA, ConversationID: c.ID}
	if diff := cmp.Diff(want, p, cmpOpts); diff != "" {
		t.Errorf("GetPresence of an unopened conversation (-want +got):\n%s", diff)
	}
}

// testPresenceRoundTrip: what UpdatePresence returns is what is stored,
// and fn is given the stored record.
func testPresenceRoundTrip(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	got, err := f.s.UpdatePresence(t.Context(), domainA, c.ID, func(p *inbox.Presence) error {
		p.See(carol, t0)
		_, err := p.TakeClaim(bob, false, t0.Add(time.Second))
		return err
	})
	if err != nil {
		t.Fatalf("UpdatePresence: %v", err)
	}
	got, err = f.s.UpdatePresence(t.Context(), domainA, c.ID, func(p *inbox.Presence) error {
		if p.Claim.Holder != bob {
			return fmt.Errorf("fn was given claim holder %q, want %q", p.Claim.Holder, bob)
		}
		ev, err := p.TakeClaim(carol, true, t0.Add(2*time.Second))
		if ev == nil || ev.Kind != inbox.ActReplyTakenOver {
			return fmt.Errorf("take-over logged %+v", ev)
		}
		p.Replied(alice, t0.Add(3*time.Second), "<x@mail.example>", t0.Add(3*time.Second))
		return err
	})
	if err != nil {
		t.Fatalf("UpdatePresence: %v", err)
	}
	stored := mustGetPresence(t, f.s, domainA, c.ID)
	if diff := cmp.Diff(got, stored, cmpOpts); diff != "" {
		t.Errorf("stored presence differs from the returned one (-returned +stored):\n%s", diff)
	}
	if stored.Claim.Holder != carol || stored.TakenOver.From != bob || stored.LastReply.By != alice || len(stored.Viewers) != 2 {
		t.Errorf("stored = %+v, want carol's claim taken from bob, alice's reply, two viewers", stored)
	}
}

// testPresenceTenantScoped: a record of one tenant is not another's.
func testPresenceTenantScoped(t *testing.T, h Harness) {
	f := newFixture(t, h)
	mustCreateTenant(t, f.s, domainB)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	if _, err := f.s.UpdatePresence(t.Context(), domainA, c.ID, func(p *inbox.Presence) error {
		p.See(bob, t0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p := mustGetPresence(t, f.s, domainB, c.ID); len(p.Viewers) != 0 || p.TenantID != domainB {
		t.Errorf("tenant B sees %+v", p)
	}
}

// testPresenceFnError: fn's error is returned as is and nothing is written.
func testPresenceFnError(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	if _, err := f.s.UpdatePresence(t.Context(), domainA, c.ID, func(p *inbox.Presence) error {
		_, err := p.TakeClaim(bob, false, t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.UpdatePresence(t.Context(), domainA, c.ID, func(p *inbox.Presence) error {
		p.See(carol, t0)
		_, err := p.TakeClaim(carol, false, t0.Add(time.Second))
		return err
	})
	wantErr(t, "UpdatePresence(carol claims bob's reply)", err, inbox.ErrClaimHeld)
	if p := mustGetPresence(t, f.s, domainA, c.ID); len(p.Viewers) != 1 || p.Claim.Holder != bob {
		t.Errorf("after a refused update: %+v, want bob's record unchanged", p)
	}
}

// testPresenceInvalid: empty ids are ErrInvalid.
func testPresenceInvalid(t *testing.T, h Harness) {
	s := newStore(t, h)
	for _, ids := range [][2]string{{"", "c"}, {domainA, ""}} {
		_, err := s.GetPresence(t.Context(), ids[0], ids[1])
		wantErr(t, fmt.Sprintf("GetPresence(%q, %q)", ids[0], ids[1]), err, inbox.ErrInvalid)
		_, err = s.UpdatePresence(t.Context(), ids[0], ids[1], func(*inbox.Presence) error { return nil })
		wantErr(t, fmt.Sprintf("UpdatePresence(%q, %q)", ids[0], ids[1]), err, inbox.ErrInvalid)
	}
}

// testPresenceLogActivity: a logged entry is in the log and the recent
// history, with version 0, and the conversation is unchanged.
func testPresenceLogActivity(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, created := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	p := inbox.Presence{TenantID: domainA, ConversationID: c.ID}
	if _, err := p.TakeClaim(bob, false, t0); err != nil {
		t.Fatal(err)
	}
	ev, err := p.TakeClaim(carol, true, t0.Add(time.Minute))
	if err != nil || ev == nil {
		t.Fatalf("TakeClaim: %v, %v", ev, err)
	}
	if err := f.s.LogActivity(t.Context(), *ev); err != nil {
		t.Fatalf("LogActivity: %v", err)
	}
	wantActivity(t, f.s, domainA, c.ID, *ev, created)
	wantConversation(t, f.s, c)
	err = f.s.LogActivity(t.Context(), *ev)
	wantErr(t, "LogActivity(same id)", err, inbox.ErrAlreadyExists)
}

// testPresenceLogActivityUnknown: logging on an unknown conversation is
// ErrNotFound; an incomplete entry ErrInvalid.
func testPresenceLogActivityUnknown(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ev := inbox.Activity{TenantID: domainA, ConversationID: "nope", ID: inbox.NewID(t0), Kind: inbox.ActReplyTakenOver, At: t0}
	wantErr(t, "LogActivity(unknown conversation)", f.s.LogActivity(t.Context(), ev), inbox.ErrNotFound)
	ev.Kind = ""
	if err := f.s.LogActivity(t.Context(), ev); !errors.Is(err, inbox.ErrInvalid) && !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("LogActivity(no kind) = %s, want ErrInvalid", errKind(err))
	}
}

// testConcurrentClaimOneWins: members press Reply at once on a free
// conversation: exactly one holds the claim, the others see ErrClaimHeld.
func testConcurrentClaimOneWins(t *testing.T, h Harness) {
	f := newFixture(t, h)
	c, _ := mustCreateConversation(t, f.s, f.ib, root(1), t0)
	errs := race(func(i int) error {
		_, err := f.s.UpdatePresence(t.Context(), domainA, c.ID, func(p *inbox.Presence) error {
			_, err := p.TakeClaim(fmt.Sprintf("member-%d@%s", i, domainA), false, t0)
			return err
		})
		return err
	})
	w := oneWins(t, "UpdatePresence(TakeClaim)", errs, inbox.ErrClaimHeld)
	if p := mustGetPresence(t, f.s, domainA, c.ID); p.Claim.Holder != fmt.Sprintf("member-%d@%s", w, domainA) {
		t.Errorf("claim holder = %q, want the winner member-%d", p.Claim.Holder, w)
	}
}
