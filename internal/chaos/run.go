package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/inbox"
)

// Options configure a run.
type Options struct {
	// Store names the store, for the figures ("sqlite", "firestore").
	Store string
	// Open opens the store the child serves from: the run seeds the tenant
	// through it and reads the end state from it.
	Open func(ctx context.Context) (inbox.Store, func() error, error)
	// Serve returns a `postfach serve` command whose environment is env
	// plus the store's settings.
	Serve func(env []string) *exec.Cmd
	// Project is the Pub/Sub emulator's project of this run (a fresh one
	// per run); PUBSUB_EMULATOR_HOST names the emulator.
	Project string

	Deliveries int     // mails delivered during the storm
	Rate       float64 // deliveries per second
	ActionRate float64 // teammate actions per second
	Crashes    int     // SIGKILLs of the child
	DropRate   float64 // pushes dropped
	DupRate    float64 // pushes delivered twice
	FaultRate  float64 // Gmail calls failing with 429 or 500
	Seed       uint64
	// Converge bounds the wait for the oracle to hold once the faults
	// stopped.
	Converge time.Duration
	// LeaseTTL is the child's POSTFACH_SYNC_LEASE_TTL.
	LeaseTTL time.Duration

	Progress io.Writer // a line every few seconds; nil: none
	ChildLog io.Writer // the child's output
	Log      *slog.Logger
}

// Result are a run's figures and the oracle's verdict.
type Result struct {
	Store            string  `json:"store"`
	Mails            int     `json:"mails"`      // mails delivered: the storm's and one per inbox after it
	Deliveries       int     `json:"deliveries"` // per inbox: a mail to two inboxes counts twice
	Copies           int     `json:"mailbox_copies"`
	Threads          int     `json:"threads"`
	Mailboxes        int     `json:"mailboxes"`
	Inboxes          int     `json:"inboxes"`
	StormSeconds     float64 `json:"storm_seconds"`
	ConvergeSeconds  float64 `json:"converge_seconds"`
	Throughput       float64 `json:"deliveries_per_second"`
	QuotaUnits       int64   `json:"gmail_quota_units"`
	GmailCalls       int     `json:"gmail_calls"`
	GmailFaults      int64   `json:"gmail_faults_injected"`
	Crashes          int     `json:"crashes"`
	HistoryExpiries  int     `json:"history_expiries"`
	Published        int64   `json:"notifications_published"`
	Pushes           int64   `json:"pushes_received"`
	PushesDropped    int64   `json:"pushes_dropped"`
	PushesDuplicated int64   `json:"pushes_duplicated"`
	Redeliveries     int64   `json:"pubsub_redeliveries"`
	Nacks            int64   `json:"pushes_nacked"`
	PushesWithToken  int64   `json:"emulator_pushes_with_token"`
	Actions          int     `json:"actions_sent"`
	Accepted         int     `json:"actions_accepted"`
	Refused          int     `json:"actions_refused"`
	Unanswered       int     `json:"actions_unanswered"`
	Converged        bool    `json:"converged"`
	Diffs            []Diff  `json:"differences,omitempty"`
}

// The tenant of a run.
const tenant = "chaos.example"

var (
	members = []string{"ann@chaos.example", "bob@chaos.example", "cid@chaos.example", "dee@chaos.example"}
	// Every member's mailbox serves two inboxes.
	inboxes = []inbox.Inbox{
		{ID: "support", Name: "Support", Address: "support@chaos.example"},
		{ID: "sales", Name: "Sales", Address: "sales@chaos.example"},
		{ID: "billing", Name: "Billing", Address: "billing@chaos.example"},
	}
	inboxMembers = map[string][]string{
		"support": {members[0], members[1], members[2]},
		"sales":   {members[1], members[3]},
		"billing": {members[0], members[2], members[3]},
	}
)

// thread is a customer conversation as the driver writes it.
type thread struct {
	inboxes  []string
	root     string
	refs     []string // Message-IDs so far
	subject  string
	customer string
}

// run is one run's state.
type run struct {
	o      Options
	w      *world
	bus    *bus
	relay  *relay
	child  *child
	store  inbox.Store
	base   string
	runID  string
	client *http.Client

	rmu sync.Mutex
	rng *rand.Rand

	mu      sync.Mutex
	threads []*thread
	record  Record
	copies  int

	cmu     sync.Mutex // crashes and restarts
	crashes int
	fatal   chan error
}

func (r *run) rand(f func(*rand.Rand)) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	f(r.rng)
}

// Run runs the chaos and the oracle. It returns an error if the run
// could not be carried out; the oracle's differences are in the Result.
func Run(ctx context.Context, o Options) (res Result, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ChildLog == nil {
		o.ChildLog = io.Discard
	}
	res.Store = o.Store
	r := &run{o: o, rng: rand.New(rand.NewPCG(o.Seed, 1)), runID: strconv.FormatUint(o.Seed, 36) + strconv.FormatInt(time.Now().UnixNano()%1e6, 36),
		client: &http.Client{Timeout: 20 * time.Second}, fatal: make(chan error, 1)}

	port, err := freePort()
	if err != nil {
		return res, err
	}
	r.base = "http://127.0.0.1:" + strconv.Itoa(port)
	pushAudience := r.base + "/gmail/push"

	r.relay, err = newRelay(o.Seed, pushAudience, pushAudience, func(aud string) (string, error) {
		return r.w.root.SystemIDToken(aud, pushServiceAccount)
	}, o.DropRate, o.DupRate)
	if err != nil {
		return res, err
	}
	defer r.relay.close()
	r.bus, err = newBus(ctx, o.Project, r.relay.url, o.Log)
	if err != nil {
		return res, err
	}
	defer r.bus.close()
	r.w, err = newWorld(o.Seed, o.FaultRate, r.bus.notify, o.Log)
	if err != nil {
		return res, err
	}
	defer r.w.close()

	var closeStore func() error
	r.store, closeStore, err = o.Open(ctx)
	if err != nil {
		return res, err
	}
	defer closeStore()
	if err := r.seed(ctx); err != nil {
		return res, err
	}

	env := []string{
		"PORT=" + strconv.Itoa(port),
		"POSTFACH_BASE_URL=" + r.base,
		"POSTFACH_ADDON_SERVICE_ACCOUNT=" + addonServiceAccount,
		"POSTFACH_OAUTH_CLIENT_ID=" + oauthClientID,
		"POSTFACH_PUBSUB_TOPIC=" + r.bus.topic,
		"POSTFACH_PUSH_SERVICE_ACCOUNT=" + pushServiceAccount,
		"POSTFACH_PUSH_AUDIENCE=" + pushAudience,
		"POSTFACH_SCHEDULER_SERVICE_ACCOUNT=" + schedulerServiceAccount,
		"POSTFACH_DELEGATION_KEY=" + string(r.w.delegationKey),
		"POSTFACH_GMAIL_ENDPOINT=" + r.w.url + "/",
		"POSTFACH_GOOGLE_TOKEN_URL=" + r.w.url + googlePrefix + "/token",
		"POSTFACH_GOOGLE_CERTS_URL=" + r.w.url + googlePrefix + certsPath,
		"POSTFACH_SYNC_LEASE_TTL=" + o.LeaseTTL.String(),
		"LOG_LEVEL=warn",
	}
	r.child = &child{command: func() *exec.Cmd { return o.Serve(env) }, base: r.base, out: o.ChildLog}
	if err := r.child.start(ctx); err != nil {
		return res, err
	}
	defer func() {
		r.cmu.Lock()
		r.child.stop()
		r.cmu.Unlock()
	}()
	if err := r.link(ctx); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Progress, "%s: %d mailboxes linked, storm of %d deliveries at %g/s (--seed %d)\n", o.Store, len(members), o.Deliveries, o.Rate, o.Seed)

	// The storm.
	r.w.faulting.Store(true)
	r.relay.chaos.Store(true)
	stormStart := time.Now()
	if err := r.storm(ctx); err != nil {
		return res, err
	}
	res.StormSeconds = time.Since(stormStart).Seconds()

	// The faults stop; the system catches up.
	r.w.faulting.Store(false)
	r.relay.chaos.Store(false)
	calm := time.Now()
	r.cmu.Lock()
	if r.child.cmd == nil {
		err = r.child.start(ctx)
	}
	r.cmu.Unlock()
	if err != nil {
		return res, err
	}
	// The mail that follows the storm: one more per inbox. Its pushes
	// reach the child, and each sync reads from its cursor everything a
	// dropped push announced.
	for _, ib := range inboxes {
		if err := r.deliver(r.newThread([]string{ib.ID})); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(o.Progress, "%s: storm over after %.1fs; converging (at most %s)\n", o.Store, res.StormSeconds, o.Converge)
	res.Diffs, res.Converged, err = r.converge(ctx, calm)
	if err != nil {
		return res, err
	}
	res.ConvergeSeconds = time.Since(calm).Seconds()

	r.mu.Lock()
	res.Mails = r.o.Deliveries + len(inboxes)
	res.Deliveries, res.Copies, res.Threads = len(r.record.Deliveries), r.copies, len(r.threads)
	for _, a := range r.record.Actions {
		res.Actions++
		switch {
		case a.Accepted:
			res.Accepted++
		case a.Unknown:
			res.Unanswered++
		default:
			res.Refused++
		}
	}
	r.mu.Unlock()
	res.Mailboxes, res.Inboxes = len(members), len(inboxes)
	res.Throughput = float64(res.Deliveries) / time.Since(stormStart).Seconds()
	for _, m := range members {
		units, reqs := r.w.sim.Usage(m)
		res.QuotaUnits += units
		for _, n := range reqs {
			res.GmailCalls += n
		}
	}
	res.GmailFaults = r.w.injected.Load()
	res.Crashes, res.HistoryExpiries = r.crashes, 1
	res.Published = r.bus.published.Load()
	res.Pushes, res.PushesDropped, res.PushesDuplicated = r.relay.received.Load(), r.relay.dropped.Load(), r.relay.duplicated.Load()
	res.Redeliveries, res.Nacks, res.PushesWithToken = r.relay.redelivered.Load(), r.relay.nacked.Load(), r.relay.withToken.Load()
	return res, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// seed writes the tenant, its inboxes and the members' mailboxes (linked by
// domain-wide delegation, not yet watched) to the store.
func (r *run) seed(ctx context.Context) error {
	now := time.Now()
	if err := r.store.CreateTenant(ctx, inbox.Tenant{Domain: tenant, Name: "Chaos", Admins: []string{members[0]}, CreatedAt: now}); err != nil {
		return fmt.Errorf("seed: %w (the store must be empty)", err)
	}
	for _, ib := range inboxes {
		ib.TenantID, ib.CreatedAt, ib.Settings = tenant, now, inbox.DefaultInboxSettings()
		for _, m := range inboxMembers[ib.ID] {
			ib.Members = append(ib.Members, inbox.Member{Email: m, Role: inbox.RoleAgent})
		}
		if err := r.store.CreateInbox(ctx, ib); err != nil {
			return fmt.Errorf("seed inbox %s: %w", ib.ID, err)
		}
	}
	for _, m := range members {
		r.w.sim.AddMailbox(m)
		if err := r.store.CreateMailbox(ctx, inbox.Mailbox{Address: m, TenantID: tenant, Kind: inbox.MailboxMember, Access: inbox.AccessDelegation, CreatedAt: now}); err != nil {
			return fmt.Errorf("seed mailbox %s: %w", m, err)
		}
	}
	return nil
}

// link has the child start the watches and the first syncs through its
// scheduled tasks, as Cloud Scheduler would, and waits for them.
func (r *run) link(ctx context.Context) error {
	for _, path := range []string{"/tasks/renew-watches", "/tasks/sync-sweep"} {
		if err := r.task(ctx, path); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		synced := 0
		for _, m := range members {
			mb, err := r.store.GetMailbox(ctx, m)
			if err != nil {
				return err
			}
			if mb.HistoryID != 0 {
				synced++
			}
		}
		if synced == len(members) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link: %d of %d mailboxes synced after 60s", synced, len(members))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// task calls a scheduled task with Cloud Scheduler's OIDC token.
func (r *run) task(ctx context.Context, path string) error {
	tok, err := r.w.root.SystemIDToken(r.base+path, schedulerServiceAccount)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	// As Cloud Scheduler's attempt deadline (manifests/scheduler.json), the
	// client waits as long as the task may work and then answer.
	resp, err := (&http.Client{Timeout: httpapi.TaskBudgets[path] + httpapi.TaskAnswerSlack}).Do(req)
	if err != nil {
		return fmt.Errorf("task %s: %w", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("task %s: %s", path, resp.Status)
	}
	return nil
}

// storm delivers the mail at the configured rate while teammates act, one
// mailbox's history expires halfway and the child is killed at random
// moments.
func (r *run) storm(ctx context.Context) error {
	n := r.o.Deliveries
	crashAt := map[int]bool{}
	for len(crashAt) < min(r.o.Crashes, max(n*8/10, 0)) {
		r.rand(func(g *rand.Rand) { crashAt[n/10+g.IntN(max(n*8/10, 1))] = true })
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if r.o.ActionRate > 0 {
		wg.Go(func() { r.teammates(sctx) })
	}
	var crashes sync.WaitGroup
	defer crashes.Wait()
	start := time.Now()
	last := start
	for i := range n {
		if due := start.Add(time.Duration(float64(i) / r.o.Rate * float64(time.Second))); time.Until(due) > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-r.fatal:
				return err
			case <-time.After(time.Until(due)):
			}
		}
		if err := r.deliver(r.pick()); err != nil {
			return err
		}
		if i == n/2 {
			// Gmail's history of one mailbox runs out: its next sync finds
			// its cursor gone and resyncs in full.
			if err := r.w.sim.ExpireHistory(members[0], math.MaxUint64); err != nil {
				return err
			}
		}
		if crashAt[i] {
			crashes.Go(func() { r.crash(ctx) })
		}
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			r.mu.Lock()
			acts := len(r.record.Actions)
			r.mu.Unlock()
			fmt.Fprintf(r.o.Progress, "%s: %d/%d delivered, %d actions, %d crashes, %d Gmail faults, %d pushes (%d dropped, %d doubled)\n",
				r.o.Store, i+1, n, acts, r.crashes, r.w.injected.Load(), r.relay.received.Load(), r.relay.dropped.Load(), r.relay.duplicated.Load())
		}
	}
	stop()
	wg.Wait()
	select {
	case err := <-r.fatal:
		return err
	default:
	}
	return nil
}

// crash kills the child and starts it again after up to a second.
func (r *run) crash(ctx context.Context) {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	r.child.kill()
	r.crashes++
	var pause time.Duration
	r.rand(func(g *rand.Rand) { pause = time.Duration(g.Int64N(int64(time.Second))) })
	time.Sleep(pause)
	if err := r.child.start(ctx); err != nil {
		select {
		case r.fatal <- fmt.Errorf("restart after crash %d: %w", r.crashes, err):
		default:
		}
	}
}

// pick chooses the next mail: a customer's reply in an open thread (40 %),
// or a new thread, one in ten of them to two inboxes at once.
func (r *run) pick() *thread {
	var reply, two bool
	var a, b, k int
	r.rand(func(g *rand.Rand) {
		reply, two = g.Float64() < 0.4, g.Float64() < 0.1
		a, b, k = g.IntN(len(inboxes)), g.IntN(len(inboxes)-1), g.IntN(1<<30)
	})
	r.mu.Lock()
	if reply && len(r.threads) > 0 {
		t := r.threads[k%len(r.threads)]
		r.mu.Unlock()
		return t
	}
	r.mu.Unlock()
	ibs := []string{inboxes[a].ID}
	if two {
		if b >= a {
			b++
		}
		ibs = append(ibs, inboxes[b].ID)
	}
	return r.newThread(ibs)
}

func (r *run) newThread(ibs []string) *thread {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.threads)
	t := &thread{inboxes: ibs, subject: fmt.Sprintf("Order %d", n), customer: fmt.Sprintf("customer%d@customers.example", n%97)}
	r.threads = append(r.threads, t)
	return t
}

// deliver writes the thread's next mail and has Gmail deliver it to the
// members of its inboxes, as their Google Groups would.
func (r *run) deliver(t *thread) error {
	r.mu.Lock()
	id := fmt.Sprintf("chaos-%s-%d@customers.example", r.runID, len(r.record.Deliveries))
	var b strings.Builder
	fmt.Fprintf(&b, "From: Customer <%s>\r\n", t.customer)
	var to []string
	for _, ib := range t.inboxes {
		for _, x := range inboxes {
			if x.ID == ib {
				to = append(to, x.Address)
			}
		}
	}
	fmt.Fprintf(&b, "To: %s\r\n", to[0])
	if len(to) > 1 {
		fmt.Fprintf(&b, "Cc: %s\r\n", strings.Join(to[1:], ", "))
	}
	subject := t.subject
	if len(t.refs) > 0 {
		subject = "Re: " + subject
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", t.refs[len(t.refs)-1], strings.Join(t.refs, "> <"))
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMail %d of this thread.\r\n",
		subject, id, time.Now().Format(time.RFC1123Z), len(t.refs)+1)
	if len(t.refs) == 0 {
		t.root = id
	}
	t.refs = append(t.refs, id)
	var rcpt []string
	for _, ib := range t.inboxes {
		for _, m := range inboxMembers[ib] {
			if !slices.Contains(rcpt, m) {
				rcpt = append(rcpt, m)
			}
		}
		r.record.Deliveries = append(r.record.Deliveries, Delivery{Inbox: ib, MessageID: id, Thread: t.root})
	}
	r.copies += len(rcpt)
	r.mu.Unlock()
	if _, err := r.w.sim.Deliver([]byte(b.String()), rcpt...); err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	return nil
}

// teammates act on conversations at ActionRate until ctx ends: each opens
// a conversation's card, then assigns it, changes its status, tags it or
// writes a note, at the version the card showed.
func (r *run) teammates(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / r.o.ActionRate))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, 4)
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // the child is slow or down: fewer clicks
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r.act(ctx, k)
		})
	}
}

// act is one teammate's click on a conversation.
func (r *run) act(ctx context.Context, k int) {
	var ti, ai, op, vi int
	r.rand(func(g *rand.Rand) { ti, ai, op, vi = g.IntN(1<<30), g.IntN(1<<30), g.IntN(10), g.IntN(1<<30) })
	r.mu.Lock()
	if len(r.threads) == 0 {
		r.mu.Unlock()
		return
	}
	t := r.threads[ti%len(r.threads)]
	root, ib := t.root, t.inboxes[ai%len(t.inboxes)]
	r.mu.Unlock()
	if root == "" {
		return
	}
	team := inboxMembers[ib]
	actor := team[ai%len(team)]
	conv := inbox.ConversationID(ib, root)
	card, status, err := r.addon(ctx, actor, map[string]string{cards.ParamOp: cards.OpDetail, cards.ParamConv: conv}, nil)
	if err != nil || status != http.StatusOK {
		return // not synced yet, or the child is down
	}
	seen := cardVersion(card)
	if seen == 0 {
		return
	}
	a := Action{Conversation: conv, Actor: actor, Version: seen + 1}
	params := map[string]string{cards.ParamConv: conv, cards.ParamVer: strconv.FormatInt(seen, 10)}
	var form map[string][]string
	switch {
	case op < 3:
		a.Op, a.Value = OpAssign, team[vi%len(team)]
		params[cards.ParamOp], form = string(desk.OpAssign), map[string][]string{cards.InputAssignee: {a.Value}}
	case op < 6:
		a.Op, a.Value = OpStatus, string([]inbox.Status{inbox.StatusOpen, inbox.StatusPending, inbox.StatusClosed}[vi%3])
		params[cards.ParamOp], params[cards.ParamValue] = string(desk.OpStatus), a.Value
	case op < 8:
		a.Op, a.Value = OpTag, fmt.Sprintf("t%d", k)
		params[cards.ParamOp], form = string(desk.OpTag), map[string][]string{cards.InputTag: {a.Value}}
	default:
		a.Op, a.Value, a.Version = OpNote, fmt.Sprintf("chaos note %d", k), 0
		params[cards.ParamOp], form = string(desk.OpNote), map[string][]string{cards.InputNote: {a.Value}}
	}
	card, status, err = r.addon(ctx, actor, params, form)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return // never reached the child
	case err != nil || status != http.StatusOK:
		a.Unknown = true
	case a.Op == OpNote:
		a.Accepted = !refused(card)
	default:
		a.Accepted = cardVersion(card) == seen+1 && !refused(card)
	}
	r.mu.Lock()
	r.record.Actions = append(r.record.Actions, a)
	r.mu.Unlock()
}

// addon posts an add-on action for user with the tokens Google would
// send, and returns the response body.
func (r *run) addon(ctx context.Context, user string, params map[string]string, form map[string][]string) ([]byte, int, error) {
	url := r.base + "/addon/action"
	sys, err := r.w.root.SystemIDToken(url, addonServiceAccount)
	if err != nil {
		return nil, 0, err
	}
	usr, err := r.w.root.UserIDToken(oauthClientID, addon.User{Email: user, Domain: tenant})
	if err != nil {
		return nil, 0, err
	}
	oauth, err := r.w.root.AccessToken(user, userScope, time.Hour)
	if err != nil {
		return nil, 0, err
	}
	ev := addontest.ActionEvent(addontest.Tokens{System: sys, User: usr, OAuth: oauth}, params, form)
	body, err := ev.JSON()
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+sys)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return out, resp.StatusCode, err
}

// cardVersion finds the conversation version a card's buttons carry.
func cardVersion(card []byte) int64 {
	var v any
	if json.Unmarshal(card, &v) != nil {
		return 0
	}
	var found int64
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if x["key"] == cards.ParamVer {
				if s, ok := x["value"].(string); ok {
					if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > found {
						found = n
					}
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return found
}

// refusals are the answers saying an action was not saved: the
// conversation changed (the card's collision section or its notice), the
// store gave up under contention, or the user went too fast.
var refusals = []string{"collision.title", "notice.not_saved_changed", "error.not_saved_detail", "ratelimit.title"}

// refused reports an answer saying the action was not saved (the add-on
// speaks en-US to the teammates). An answer with HTTP 200 is no proof:
// "not saved" is a 200 with a notice.
func refused(card []byte) bool {
	p := i18n.NewPrinter(i18n.Match("en-US"), time.UTC)
	s := string(card)
	return slices.ContainsFunc(refusals, func(key string) bool { return strings.Contains(s, p.T(key)) })
}
