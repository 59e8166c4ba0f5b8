package syncer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/postfach/postfach/internal/gmailsim"
)

// pushAsync delivers notifications as the push endpoint does in production
// (httpapi): record each, kick a background sync, then wait for the syncs.
func (e *env) pushAsync(notes []gmailsim.Notification) {
	e.t.Helper()
	ctx := context.Background()
	for _, n := range notes {
		if err := e.syncer.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
			e.t.Fatalf("notify %v: %v", n, err)
		}
		e.syncer.Kick(ctx, n.EmailAddress)
	}
	e.syncer.Wait()
}

// usage is what the simulator charged each mailbox so far.
type usage map[string]struct {
	units    int64
	requests map[string]int
}

func (e *env) usage(boxes ...string) usage {
	u := usage{}
	for _, m := range boxes {
		units, reqs := e.sim.Usage(m)
		u[m] = struct {
			units    int64
			requests map[string]int
		}{units, reqs}
	}
	return u
}

// TestIngestCostFullCycle counts the Gmail calls of a full ingest cycle, as
// production runs it: new mail is pushed, synced and labelled; the labels'
// own history records are pushed back and synced. The echo is recognized
// from the records' own label ids: one messages.get per new mail, none for
// the echo, and at most 6 quota units per mail in every mailbox.
// (Before, every echo record was fetched again: 10.1 units per mail.)
func TestIngestCostFullCycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		const n = 100
		e := newEnv(t, envOptions{store: store})
		members := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
		for j := range n {
			e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Cost %d", j), fmt.Sprintf("cost%d@customer.example", j)))
		}
		before := e.usage(members...)
		e.pushAsync(e.take())
		ingested := e.usage(members...)
		echo := e.take()
		if len(echo) == 0 {
			t.Fatal("labelling the new mail produced no history to echo")
		}
		e.pushAsync(echo)
		after := e.usage(members...)
		if rest := e.take(); len(rest) != 0 {
			t.Fatalf("the echo's sync wrote to Gmail again: %d notifications", len(rest))
		}
		for _, m := range members {
			if got := after[m].requests["messages.get"] - ingested[m].requests["messages.get"]; got != 0 {
				t.Errorf("%s: the echo cost %d messages.get, want 0", m, got)
			}
			if got := after[m].requests["messages.get"] - before[m].requests["messages.get"]; got != n {
				t.Errorf("%s: %d messages.get for %d new mails, want one each", m, got, n)
			}
			perMsg := float64(after[m].units-before[m].units) / n
			t.Logf("%s: %.2f units per mail; calls %v", m, perMsg, diff(before[m].requests, after[m].requests))
			if perMsg > 6 {
				t.Errorf("%s: a full cycle cost %.2f quota units per mail, want ≤ 6 (ingest %d, echo %d units; calls %v)",
					m, perMsg, ingested[m].units-before[m].units, after[m].units-ingested[m].units, diff(before[m].requests, after[m].requests))
			}
		}
		e.check(map[string]int{"support": n})
	})
}

// diff is the calls made between two request counts.
func diff(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}
