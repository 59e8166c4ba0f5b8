package syncer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// pushAsync delivers notifications as the push endpoint does in production
// (httpapi), each its own request as Pub/Sub sends them, all at once:
// record each, kick a background sync; then it waits for the syncs.
func (e *env) pushAsync(notes []gmailsim.Notification) {
	e.t.Helper()
	ctx := context.Background()
	errs := make(chan error, len(notes))
	var wg sync.WaitGroup
	for _, n := range notes {
		wg.Go(func() {
			if err := e.syncer.Notify(ctx, n.EmailAddress, n.HistoryID); err != nil {
				errs <- fmt.Errorf("notify %v: %w", n, err)
				return
			}
			e.syncer.Kick(ctx, n.EmailAddress)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatal(err)
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
// the echo. A burst costs at most 6 quota units per mail in every mailbox
// (before, every echo record was fetched again: 10.1 units per mail); a
// lone mail, whose labelling and history reads nothing amortizes, at most
// 14: two history reads, its fetch, one messages.modify (before, a 50-unit
// batchModify and a second fetch: 64).
func TestIngestCostFullCycle(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		maxUnits float64 // per mail
	}{
		{"burst", 100, 6},
		{"lone mail", 1, 14},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, store string) {
				n := tc.n
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
					perMsg := float64(after[m].units-before[m].units) / float64(n)
					t.Logf("%s: %.2f units per mail; calls %v", m, perMsg, diff(before[m].requests, after[m].requests))
					if perMsg > tc.maxUnits {
						t.Errorf("%s: a full cycle cost %.2f quota units per mail, want ≤ %v (ingest %d, echo %d units; calls %v)",
							m, perMsg, tc.maxUnits, ingested[m].units-before[m].units, after[m].units-ingested[m].units, diff(before[m].requests, after[m].requests))
					}
				}
				e.check(map[string]int{"support": n})
			})
		})
	}
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

// labelID returns the id of a label in a user's mailbox, read through the
// real client.
func (e *env) labelID(user, name string) string {
	e.t.Helper()
	ls, err := e.gmailAs(user).Users.Labels.List("me").Do()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range ls.Labels {
		if l.Name == name {
			return l.Id
		}
	}
	e.t.Fatalf("%s has no label %q", user, name)
	return ""
}

// withoutHistoryLabels strips the message's labelIds from the label records
// of history.list answers: a Gmail that sends less than it documents.
func withoutHistoryLabels(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/history") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var resp gmail.ListHistoryResponse
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &resp) != nil {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		for _, h := range resp.History {
			for _, a := range h.LabelsAdded {
				a.Message.LabelIds = nil
			}
			for _, a := range h.LabelsRemoved {
				a.Message.LabelIds = nil
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&resp)
	})
}

// TestGmailLabelChangeCosts: a user's label change in Gmail is still taken,
// at the cost of fetching only the messages whose record disagrees with
// Postfach's state; a label added and removed again before the sync is
// settled from the records; a Gmail whose records lack the message's labels
// makes the sync fetch, not guess.
func TestGmailLabelChangeCosts(t *testing.T) {
	tests := []struct {
		name     string
		wrap     func(http.Handler) http.Handler
		undo     bool           // carol removes the label again before the sync
		want     inbox.Status   // the conversation's status afterwards
		wantGets map[string]int // messages.get per mailbox for the change and its echo; nil: at least 1 in carol's
	}{
		{name: "user closes", want: inbox.StatusClosed,
			wantGets: map[string]int{"alice@example.com": 0, "bob@example.com": 0, "carol@example.com": 1}},
		{name: "user closes and reopens before the sync", undo: true, want: inbox.StatusOpen,
			wantGets: map[string]int{"alice@example.com": 0, "bob@example.com": 0, "carol@example.com": 0}},
		{name: "records without labels", wrap: withoutHistoryLabels, want: inbox.StatusClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, store string) {
				e := newEnv(t, envOptions{store: store, wrap: tc.wrap})
				members := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
				e.deliverToGroup(support, mail("Dana <dana@customer.example>", "support@example.com", "", "Refund", "u1@customer.example"))
				e.settle()
				e.clock.Advance(time.Minute)

				closed := e.labelID("carol@example.com", "Postfach/Support/Closed")
				m, _ := e.sim.FindByMessageID("carol@example.com", "u1@customer.example")
				carol := e.gmailAs("carol@example.com")
				before := e.usage(members...)
				if _, err := carol.Users.Messages.Modify("me", m.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{closed}}).Do(); err != nil {
					t.Fatal(err)
				}
				if tc.undo {
					if _, err := carol.Users.Messages.Modify("me", m.ID, &gmail.ModifyMessageRequest{RemoveLabelIds: []string{closed}}).Do(); err != nil {
						t.Fatal(err)
					}
				}
				e.settle()
				after := e.usage(members...)
				c := e.conv(support, "u1@customer.example")
				if c.Status != tc.want {
					t.Fatalf("status after carol's label = %s, want %s", c.Status, tc.want)
				}
				if tc.want == inbox.StatusClosed && c.UpdatedBy != "carol@example.com" {
					t.Errorf("closed by %q, want carol", c.UpdatedBy)
				}
				for _, mb := range members {
					got := after[mb].requests["messages.get"] - before[mb].requests["messages.get"]
					want, ok := tc.wantGets[mb]
					switch {
					case tc.wantGets == nil && mb == "carol@example.com" && got == 0:
						t.Errorf("%s: no messages.get although the records carry no labels", mb)
					case ok && got != want:
						t.Errorf("%s: %d messages.get for the change and its echo, want %d", mb, got, want)
					}
				}
				e.check(map[string]int{"support": 1})
			})
		})
	}
}
