package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// TestConcurrentActions: 50 members' actions (assign, status, tag, note)
// race on one conversation through the real add-on endpoint, each member
// acting on the card they were shown and, when told their change was not
// saved, again on the card that told them (up to attempts times). Whatever the interleaving:
// one accepted change per version, every accepted action in the activity
// log, every note stored and shown, every loser told so in their own
// language on a card (never a 500) with nothing of theirs written, the
// final state the replay of the accepted changes, the counters equal to a
// recount, and the Gmail labels equal to the state once the mirror settled.
func TestConcurrentActions(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			// Firestore's emulator settles a contended transaction in
			// seconds (its lock waits and the client's jittered retries):
			// fewer rounds keep the run under a few minutes there.
			attempts := map[string]int{"sqlite": 6, "firestore": 3}[kind]
			testConcurrentActions(t, startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind}}), attempts)
		})
	}
}

// raceKinds are the actions the racing members take, by worker index.
var raceKinds = []string{"assign", "status", "tag", "note"}

// raceOutcome is what one worker's action came to.
type raceOutcome struct {
	worker   int
	user     string
	lang     i18n.Lang
	kind     string        // one of raceKinds
	op       string        // the card action taken: assign-me, unassign, status, tag, note
	value    string        // status id, tag or note text
	accepted bool          // saved
	version  int64         // the version the accepted change made (0 for a note)
	refusals []raceRefusal // "not saved" answers before it was accepted or given up
	failure  string        // a response no member should get
}

type raceRefusal struct {
	seen         int64 // the version the refused action was computed from
	notification string
	card         bool
}

func testConcurrentActions(t *testing.T, h *harness, attempts int) {
	ctx := context.Background()
	rootID := refund.MessageID(0)
	convID := inbox.ConversationID("support", rootID)
	members := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	h.settle()
	before, err := h.app.Store.GetConversation(ctx, "example.com", convID)
	if err != nil {
		t.Fatal(err)
	}

	const workers = 50
	outcomes := make([]raceOutcome, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lang := i18n.English
			if i%2 == 1 {
				lang = i18n.German
			}
			o := raceOutcome{worker: i, user: members[i%len(members)], lang: lang, kind: raceKinds[i%len(raceKinds)]}
			defer func() { outcomes[i] = o }()
			c := raceClient{h: h, email: o.user, lang: lang}
			card, err := c.act(map[string]string{cards.ParamOp: cards.OpDetail, cards.ParamConv: convID}, nil)
			if err != nil || card.card == nil {
				o.failure = fmt.Sprintf("open: %v %d %s", err, card.status, card.raw)
				return
			}
			<-start
			p := i18n.NewPrinter(lang, nil)
			notSaved := strings.TrimSpace(p.T("notice.not_saved_because", "What", ""))
			for attempt := 0; attempt < attempts; attempt++ {
				a, form := raceAction(card.card, o.kind, i)
				if a == nil {
					o.failure = fmt.Sprintf("no %s action on the card", o.kind)
					return
				}
				params := map[string]string{}
				for _, p := range a.GetParameters() {
					params[p.GetKey()] = p.GetValue()
				}
				o.op, o.value = params[cards.ParamOp], params[cards.ParamValue]
				if o.kind == "tag" || o.kind == "note" {
					o.value = form[o.kind][0]
				}
				seen, _ := strconv.ParseInt(params[cards.ParamVer], 10, 64)
				r, err := c.act(params, form)
				switch {
				case err != nil || r.status != http.StatusOK:
					o.failure = fmt.Sprintf("%s: %v %d %s", o.op, err, r.status, r.raw)
					return
				case r.notification == p.T("error.not_saved_detail"):
					// The store gave up under contention: nothing saved,
					// said plainly; the member opens the card again.
					o.refusals = append(o.refusals, raceRefusal{seen: seen, notification: r.notification, card: true})
					if card, err = c.act(map[string]string{cards.ParamOp: cards.OpReload, cards.ParamConv: convID}, nil); err != nil || card.card == nil {
						o.failure = fmt.Sprintf("reload: %v %s", err, card.raw)
						return
					}
				case strings.HasPrefix(r.notification, notSaved) || r.notification == p.T("notice.not_saved_changed"):
					o.refusals = append(o.refusals, raceRefusal{seen: seen, notification: r.notification, card: r.card != nil})
					if r.card == nil {
						return
					}
					card = r
				case r.notification == p.T("notice.unchanged"):
					return
				default:
					if r.card == nil {
						o.failure = fmt.Sprintf("%s accepted without a card: %s", o.op, r.raw)
						return
					}
					o.accepted = true
					if o.kind != "note" {
						o.version = cardVersion(r.card)
					}
					return
				}
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("the race took %v", time.Since(began).Round(time.Millisecond))

	// Every answer was a card or a notice a member can read.
	var accepted []raceOutcome
	notes := map[string]raceOutcome{}
	refused, gaveUp := 0, 0 // gaveUp: the store's contention deadline passed (told plainly, nothing written)
	for _, o := range outcomes {
		if o.failure != "" {
			t.Errorf("worker %d (%s, %s): %s", o.worker, o.user, o.kind, o.failure)
		}
		for _, r := range o.refusals {
			refused++
			if !r.card {
				t.Errorf("worker %d: refused without the current card: %q", o.worker, r.notification)
			}
			p := i18n.NewPrinter(o.lang, nil)
			if r.notification == p.T("error.not_saved_detail") {
				gaveUp++
			}
			if !strings.HasPrefix(r.notification, strings.TrimSpace(p.T("notice.not_saved_because", "What", ""))) &&
				r.notification != p.T("error.not_saved_detail") {
				t.Errorf("worker %d (%s): refusal %q is not in their language", o.worker, o.lang, r.notification)
			}
		}
		if !o.accepted {
			continue
		}
		if o.kind == "note" {
			notes[o.value] = o
			continue
		}
		accepted = append(accepted, o)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d changes accepted, %d notes, %d refusals", len(accepted), len(notes), refused)
	if refused == 0 {
		t.Log("no action was refused: the race did not collide this time")
	}

	// One winner per version, and the versions follow one another.
	slices.SortFunc(accepted, func(a, b raceOutcome) int { return int(a.version - b.version) })
	for i, o := range accepted {
		if want := before.Version + int64(i) + 1; o.version != want {
			// Who made the versions no member was told they made.
			acts, _ := h.app.Store.ListActivity(ctx, "example.com", convID, 500)
			for _, a := range acts {
				if a.Version > before.Version {
					t.Logf("  v%d %s %s %s→%s via %q", a.Version, a.Actor, a.Kind, a.From, a.To, a.Via)
				}
			}
			t.Fatalf("accepted change %d made version %d, want %d (versions: %v)", i, o.version, want, versionsOf(accepted))
		}
	}
	// On a loaded machine Firestore's emulator can let contended writes
	// run past their deadline: those members were told "not saved" and
	// nothing of theirs was written, which the checks below still verify;
	// only then may fewer changes and notes get through.
	strict := t.Errorf
	if gaveUp > 0 {
		t.Logf("%d refusals were the store giving up under contention", gaveUp)
		strict = t.Logf
	}
	if len(accepted) < 2 {
		strict("%d changes accepted: the race tested nothing", len(accepted))
	}
	if len(notes) != workers/len(raceKinds)+1 && len(notes) != workers/len(raceKinds) {
		strict("%d notes accepted, want every one (%d)", len(notes), workers/len(raceKinds))
	}

	// The activity log holds each accepted change once, under its version,
	// by its member, and each note's entry; nothing from a refused one.
	acts, err := h.app.Store.ListActivity(ctx, "example.com", convID, 500)
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[int64]inbox.Activity{}
	noted := 0
	for _, a := range acts {
		switch {
		case a.Kind == inbox.ActNoted && a.Version == 0:
			noted++
		case a.Version > before.Version:
			if _, dup := byVersion[a.Version]; dup {
				t.Errorf("two activity entries for version %d", a.Version)
			}
			byVersion[a.Version] = a
		}
	}
	if len(byVersion) != len(accepted) {
		t.Errorf("%d activity entries after version %d, want one per accepted change (%d)", len(byVersion), before.Version, len(accepted))
	}
	for _, o := range accepted {
		a, ok := byVersion[o.version]
		if !ok || a.Actor != o.user || !raceKindOf(o.op, a.Kind) {
			t.Errorf("version %d: activity %+v, want %s by %s", o.version, a, o.op, o.user)
		}
	}
	if noted != len(notes) {
		t.Errorf("%d note entries in the log, want %d", noted, len(notes))
	}

	// No note lost: every one is stored, and its card shows it.
	stored, err := h.app.Store.ListNotes(ctx, "example.com", convID, 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(notes) {
		t.Errorf("%d notes stored, want %d", len(stored), len(notes))
	}
	for _, n := range stored {
		o, ok := notes[n.Body]
		if !ok || n.Author != o.user {
			t.Errorf("stored note %q by %s was not an accepted one", n.Body, n.Author)
			continue
		}
		r := h.call(o.user, h.app.BaseURL+"/addon/action", addontest.ActionEvent(addontest.Tokens{},
			map[string]string{cards.ParamOp: cards.OpNoteCard, cards.ParamConv: convID, cards.ParamNote: n.ID}, nil))
		if r.status != http.StatusOK || !strings.Contains(cardText(r.card), n.Body) {
			t.Errorf("note card of %q: %d %s", n.Body, r.status, r.raw)
		}
	}

	// The final state is the last accepted change: replaying the accepted
	// changes in version order from the state before gives what is stored.
	want := before
	want.Tags = slices.Clone(before.Tags)
	for _, o := range accepted {
		switch o.op {
		case "assign-me":
			want.Assignee = o.user
		case "unassign":
			want.Assignee = ""
		case "status":
			want.Status = inbox.Status(o.value)
		case "tag":
			want.Tags = append(want.Tags, o.value)
		}
	}
	got, err := h.app.Store.GetConversation(ctx, "example.com", convID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want.Tags)
	gotTags := slices.Sorted(slices.Values(got.Tags))
	if last := before.Version + int64(len(accepted)); got.Version != last || got.Assignee != want.Assignee || got.Status != want.Status || !slices.Equal(gotTags, want.Tags) {
		t.Errorf("stored v%d %s/%q tags %v; want v%d %s/%q tags %v", got.Version, got.Status, got.Assignee, gotTags, last, want.Status, want.Assignee, want.Tags)
	}

	// The kept counters equal a recount.
	repair, err := h.app.Store.ReconcileCounts(ctx, "example.com", "support")
	if err != nil {
		t.Fatal(err)
	}
	if repair.Drifted() {
		t.Errorf("counters drifted: kept %+v, counted %+v", repair.Kept, repair.Counted)
	}

	// Once the mirror settled, every member's copy of the thread carries
	// the final state: its status, and Mine in the owner's mailbox only.
	h.settle()
	status := statusLabelName(got)
	for _, m := range members {
		wantLabels := []string{status}
		if got.Assignee == m {
			wantLabels = append(wantLabels, "Postfach/Support/Mine")
		}
		slices.Sort(wantLabels)
		eventually(t, m+"'s labels to equal the final state", func() bool {
			return slices.Equal(h.threadLabels(m, rootID), wantLabels)
		})
	}
}

// statusLabelName is the Gmail label of a built-in status of Support.
func statusLabelName(c inbox.Conversation) string {
	return "Postfach/Support/" + map[inbox.Status]string{inbox.StatusOpen: "Open", inbox.StatusPending: "Pending", inbox.StatusClosed: "Closed"}[c.Status]
}

func versionsOf(os []raceOutcome) []int64 {
	var out []int64
	for _, o := range os {
		out = append(out, o.version)
	}
	return out
}

// raceKindOf reports whether an activity kind records card action op.
func raceKindOf(op string, k inbox.ActivityKind) bool {
	switch op {
	case "assign-me":
		return k == inbox.ActAssigned
	case "unassign":
		return k == inbox.ActUnassigned
	case "status":
		return k == inbox.ActStatus || k == inbox.ActReopened
	case "tag":
		return k == inbox.ActTagged
	}
	return false
}

// raceAction picks worker i's action of kind on a conversation card, and
// the form it sends.
func raceAction(c *cardpb.Card, kind string, i int) (*cardpb.Action, map[string][]string) {
	var byOp = map[string][]*cardpb.Action{}
	eachAction(c, func(_ string, a *cardpb.Action) {
		for _, p := range a.GetParameters() {
			if p.GetKey() == cards.ParamOp {
				byOp[p.GetValue()] = append(byOp[p.GetValue()], a)
			}
		}
	})
	first := func(ops ...string) *cardpb.Action {
		for _, op := range ops {
			if as := byOp[op]; len(as) > 0 {
				return as[i%len(as)]
			}
		}
		return nil
	}
	switch kind {
	case "assign":
		return first("assign-me", "unassign"), nil
	case "status":
		return first("status"), nil
	case "tag":
		return first("tag"), map[string][]string{cards.InputTag: {fmt.Sprintf("race%d", i)}}
	default:
		return first("note"), map[string][]string{cards.InputNote: {fmt.Sprintf("Note %d of the race", i)}}
	}
}

// cardVersion is the conversation version a card's actions carry.
func cardVersion(c *cardpb.Card) int64 {
	var v int64
	eachAction(c, func(_ string, a *cardpb.Action) {
		for _, p := range a.GetParameters() {
			if p.GetKey() == cards.ParamVer && v == 0 {
				v, _ = strconv.ParseInt(p.GetValue(), 10, 64)
			}
		}
	})
	return v
}

// raceClient is one member calling the add-on endpoint from a goroutine
// of its own: it returns errors instead of failing the test.
type raceClient struct {
	h     *harness
	email string
	lang  i18n.Lang
}

func (c raceClient) act(params map[string]string, form map[string][]string) (response, error) {
	endpoint := c.h.app.BaseURL + "/addon/action"
	resp, err := http.Get(c.h.app.BaseURL + "/dev/tokens?" + url.Values{"email": {c.email}, "url": {endpoint}}.Encode())
	if err != nil {
		return response{}, err
	}
	var tok httpapi.DevTokens
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		return response{}, fmt.Errorf("tokens: %w", err)
	}
	ev := addontest.ActionEvent(addontest.Tokens{User: tok.UserIDToken, OAuth: tok.UserOAuthToken}, params, form)
	ev.Common.UserLocale = string(c.lang)
	ev.Auth.SystemIDToken = tok.SystemIDToken
	resp, err = http.DefaultClient.Do(addontest.NewRequest(http.MethodPost, endpoint, ev, tok.SystemIDToken))
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return parseResponse(resp.StatusCode, body)
}

// parseResponse decodes an add-on response as harness.send does.
func parseResponse(status int, body []byte) (response, error) {
	r := response{status: status, raw: string(body)}
	var env struct {
		Action        *actionJSON `json:"action"`
		RenderActions *struct {
			Action *actionJSON `json:"action"`
		} `json:"renderActions"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return r, fmt.Errorf("response is not JSON: %w", err)
	}
	a := env.Action
	if env.RenderActions != nil {
		a = env.RenderActions.Action
	}
	if a == nil {
		return r, nil
	}
	if a.Notification != nil {
		r.notification = a.Notification.Text
	}
	for _, n := range a.Navigations {
		for _, raw := range []json.RawMessage{n.PushCard, n.UpdateCard} {
			if raw == nil {
				continue
			}
			var c cardpb.Card
			if err := protojson.Unmarshal(raw, &c); err != nil {
				return r, fmt.Errorf("card does not parse strictly: %w", err)
			}
			r.card = &c
		}
	}
	return r, nil
}
