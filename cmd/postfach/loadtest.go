package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
)

// loadtestOptions configure `postfach loadtest`.
type loadtestOptions struct {
	Conversations int
	Store         string
	Data          string
	Rate          float64 // requests/s, open loop; 0: closed loop
	Concurrency   int
	Duration      time.Duration
	Warmup        time.Duration
	Mix           string
	Calibrate     int // requests of each kind measured alone for the counts
	JSON          bool
}

// Request kinds of the mix.
const (
	kindHome     = "homepage"
	kindOpen     = "message-open"
	kindList     = "list"
	kindDetail   = "detail"
	kindAction   = "action"
	kindBaseline = "baseline"
)

var loadKinds = []string{kindHome, kindOpen, kindList, kindDetail, kindAction, kindBaseline}

func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("loadtest", "", "Measure Postfach under load on this machine: start the dev server in this process (same wiring as serve) "+
		"on a store seeded with --conversations conversations, then send a realistic mix of add-on requests, "+
		"open loop at --rate or closed loop with --concurrency, for --duration. Reports p50/p95/p99 and throughput per "+
		"kind, next to a baseline endpoint (a fixed card behind the same token checks), and, from a calibration pass of "+
		"each kind alone, Gmail calls and store operations per request. Loopback only; bounded in time.",
		[]setting{{"FIRESTORE_EMULATOR_HOST", "the Firestore emulator, for --store firestore", false}}, stdout)
	var o loadtestOptions
	fs.IntVar(&o.Conversations, "conversations", 1000, "conversations in Support (seeded through the store; kept in --data between runs)")
	fs.StringVar(&o.Store, "store", "sqlite", "sqlite, or firestore (Google's emulator: set FIRESTORE_EMULATOR_HOST)")
	fs.StringVar(&o.Data, "data", "", "directory of the SQLite database (default: a temporary one)")
	fs.Float64Var(&o.Rate, "rate", 100, "requests per second, open loop; 0 runs a closed loop with --concurrency")
	fs.IntVar(&o.Concurrency, "concurrency", 8, "closed loop: requests in flight (1-256); open loop: at most this many x 32 in flight")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "how long to send the mix (at most 10m)")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "unmeasured load before the measured run")
	fs.StringVar(&o.Mix, "mix", "homepage=30,message-open=30,list=15,detail=10,action=5,baseline=10", "weights of the request kinds")
	fs.IntVar(&o.Calibrate, "calibrate", 20, "requests of each kind sent alone to count Gmail calls and store operations")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON on stdout (progress stays on stderr)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	mix, err := parseMix(o.Mix)
	if err != nil {
		return fmt.Errorf("%w: loadtest: --mix: %v", errUsage, err)
	}
	switch {
	case o.Conversations < 0 || o.Conversations > 1_000_000:
		return fmt.Errorf("%w: loadtest: --conversations must be 0-1000000", errUsage)
	case o.Rate < 0 || o.Rate > 20000:
		return fmt.Errorf("%w: loadtest: --rate must be 0-20000", errUsage)
	case o.Concurrency < 1 || o.Concurrency > 256:
		return fmt.Errorf("%w: loadtest: --concurrency must be 1-256", errUsage)
	case o.Duration <= 0 || o.Duration > 10*time.Minute || o.Warmup < 0 || o.Warmup > time.Minute:
		return fmt.Errorf("%w: loadtest: --duration must be in (0, 10m], --warmup in [0, 1m]", errUsage)
	case o.Calibrate < 0 || o.Calibrate > 1000:
		return fmt.Errorf("%w: loadtest: --calibrate must be 0-1000", errUsage)
	}
	if o.Data == "" {
		dir, err := os.MkdirTemp("", "postfach-loadtest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.Data = dir
	}
	res, err := loadtest(ctx, o, mix, getenv, stderr)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	res.print(stdout)
	return nil
}

// parseMix reads "kind=weight,…".
func parseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		w, err := strconv.Atoi(v)
		if !ok || err != nil || w < 0 || !slices.Contains(loadKinds, k) {
			return nil, fmt.Errorf("%q: want kind=weight with kind one of %s", part, strings.Join(loadKinds, ", "))
		}
		mix[k] = w
	}
	total := 0
	for _, w := range mix {
		total += w
	}
	if total == 0 {
		return nil, errors.New("all weights are 0")
	}
	return mix, nil
}

// loadtestResult is what a run measured.
type loadtestResult struct {
	Store           string                `json:"store"`
	Conversations   int                   `json:"conversations"`
	Mode            string                `json:"mode"` // "open loop 100/s" or "closed loop, 8 in flight"
	DurationSeconds float64               `json:"duration_seconds"`
	Requests        int                   `json:"requests"`
	Errors          int                   `json:"errors"`
	Throughput      float64               `json:"throughput_per_second"`
	Kinds           map[string]*kindStats `json:"kinds"`
	// OpenVsBaselineP99 is message-open's p99 over the baseline's.
	OpenVsBaselineP99 float64 `json:"message_open_p99_over_baseline_p99,omitempty"`
	SeedSeconds       float64 `json:"seed_seconds"`
	StartupMillis     float64 `json:"startup_ms"`
	FirstCardMillis   float64 `json:"first_card_ms"`
	MaxRSSMiB         float64 `json:"max_rss_mib"`
	Late              int     `json:"late,omitempty"` // open loop: sends that could not start on time (in-flight cap)
}

// kindStats are one request kind's figures.
type kindStats struct {
	Count    int     `json:"count"`
	Errors   int     `json:"errors"`
	P50Ms    float64 `json:"p50_ms"`
	P95Ms    float64 `json:"p95_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	PerSec   float64 `json:"per_second"`
	Gmail    float64 `json:"gmail_calls_per_request"`
	Reads    float64 `json:"store_reads_per_request"`
	Writes   float64 `json:"store_writes_per_request"`
	Measured int     `json:"calibration_requests"`
	lat      []time.Duration
}

func (r loadtestResult) print(w io.Writer) {
	fmt.Fprintf(w, "store %s, %d conversations; %s for %.1fs: %d requests, %.0f req/s, %d errors\n",
		r.Store, r.Conversations, r.Mode, r.DurationSeconds, r.Requests, r.Throughput, r.Errors)
	if r.Late > 0 {
		fmt.Fprintf(w, "%d sends started late (in-flight cap): the server did not keep up with the rate\n", r.Late)
	}
	fmt.Fprintf(w, "%-13s %7s %6s %9s %9s %9s %9s %8s %7s %7s %7s\n", "kind", "n", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s", "gmail", "reads", "writes")
	for _, k := range loadKinds {
		s, ok := r.Kinds[k]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%-13s %7d %6d %9.2f %9.2f %9.2f %9.2f %8.1f %7.2f %7.2f %7.2f\n",
			k, s.Count, s.Errors, s.P50Ms, s.P95Ms, s.P99Ms, s.MaxMs, s.PerSec, s.Gmail, s.Reads, s.Writes)
	}
	if r.OpenVsBaselineP99 > 0 {
		fmt.Fprintf(w, "message-open p99 / baseline p99: %.2f\n", r.OpenVsBaselineP99)
	}
	fmt.Fprintf(w, "seed %.1fs, start-up %.0f ms, first card %.1f ms, max RSS %.0f MiB (this process: server, simulators and client)\n",
		r.SeedSeconds, r.StartupMillis, r.FirstCardMillis, r.MaxRSSMiB)
	fmt.Fprintln(w, "(gmail, reads, writes: per request of that kind alone, from the calibration pass; a store operation is one call to the store)")
}

// loadtest runs the whole measurement.
func loadtest(ctx context.Context, o loadtestOptions, mix map[string]int, getenv func(string) string, progress io.Writer) (loadtestResult, error) {
	res := loadtestResult{Store: o.Store, Conversations: o.Conversations, Kinds: map[string]*kindStats{}}
	counted := &countingStore{}
	sc := storeConfig{Kind: o.Store, EmulatorHost: getenv("FIRESTORE_EMULATOR_HOST")}
	if o.Store == "firestore" {
		if sc.EmulatorHost == "" {
			return res, fmt.Errorf("%w: loadtest --store firestore runs against the emulator only: set FIRESTORE_EMULATOR_HOST", errUsage)
		}
		sc.ProjectID, sc.Namespace = "postfach-loadtest", fmt.Sprintf("loadtest-%d", o.Conversations)
	}
	t0 := time.Now()
	app, err := startDev(ctx, devConfig{
		Addr: "127.0.0.1:0", DataDir: o.Data, Store: sc,
		Log: slog.New(slog.DiscardHandler),
		WrapStore: func(s inbox.Store) inbox.Store {
			counted.Store = s
			return counted
		},
	})
	if err != nil {
		return res, err
	}
	defer app.Wait()
	res.StartupMillis = float64(time.Since(t0).Microseconds()) / 1000

	t1 := time.Now()
	ids, err := seedLoad(ctx, counted.Store, o.Conversations, seedWriters[o.Store], progress)
	if err != nil {
		return res, err
	}
	res.SeedSeconds = time.Since(t1).Seconds()

	l, err := newLoader(app, ids)
	if err != nil {
		return res, err
	}
	t2 := time.Now()
	if _, err := l.do(ctx, kindHome); err != nil {
		return res, fmt.Errorf("first card: %w", err)
	}
	res.FirstCardMillis = float64(time.Since(t2).Microseconds()) / 1000

	// Calibration: each kind alone, sequentially, so the Gmail calls and
	// store operations it causes are its own. Background label mirrors an
	// action starts are waited for.
	for _, k := range loadKinds {
		if mix[k] == 0 || o.Calibrate == 0 {
			continue
		}
		app.Syncer.Wait()
		gmail0, reads0, writes0 := l.gmailCalls(), counted.reads.Load(), counted.writes.Load()
		for range o.Calibrate {
			if _, err := l.do(ctx, k); err != nil {
				return res, fmt.Errorf("calibrate %s: %w", k, err)
			}
		}
		app.Syncer.Wait()
		n := float64(o.Calibrate)
		res.Kinds[k] = &kindStats{
			Gmail:    float64(l.gmailCalls()-gmail0) / n,
			Reads:    float64(counted.reads.Load()-reads0) / n,
			Writes:   float64(counted.writes.Load()-writes0) / n,
			Measured: o.Calibrate,
		}
	}

	if o.Warmup > 0 {
		if _, err := l.run(ctx, o, mix, o.Warmup, nil); err != nil {
			return res, err
		}
	}
	stats, err := l.run(ctx, o, mix, o.Duration, progress)
	if err != nil {
		return res, err
	}
	res.DurationSeconds = stats.elapsed.Seconds()
	res.Late = stats.late
	if o.Rate > 0 {
		res.Mode = fmt.Sprintf("open loop at %g/s", o.Rate)
	} else {
		res.Mode = fmt.Sprintf("closed loop, %d in flight", o.Concurrency)
	}
	for k, lat := range stats.lat {
		ks := res.Kinds[k]
		if ks == nil {
			ks = &kindStats{}
			res.Kinds[k] = ks
		}
		ks.lat = lat
		ks.Count, ks.Errors = len(lat), stats.errors[k]
		ks.PerSec = float64(len(lat)) / res.DurationSeconds
		slices.Sort(lat)
		q := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		ks.P50Ms, ks.P95Ms, ks.P99Ms, ks.MaxMs = q(0.50), q(0.95), q(0.99), q(1)
		res.Requests += len(lat)
		res.Errors += stats.errors[k]
	}
	res.Throughput = float64(res.Requests) / res.DurationSeconds
	if o, b := res.Kinds[kindOpen], res.Kinds[kindBaseline]; o != nil && b != nil && b.P99Ms > 0 && o.Count > 0 {
		res.OpenVsBaselineP99 = o.P99Ms / b.P99Ms
	}
	res.MaxRSSMiB = maxRSSMiB()
	return res, nil
}

// seedWriters is how many conversations seedLoad creates at once, by
// store. On Firestore one: every create's transaction queries the inbox's
// Message-ID index, and the emulator locks that query's whole range, so
// concurrent creates in one inbox wait out each other's locks (200
// conversations on the emulator: 188/s with one writer, 25/s with two,
// 13/s with four, single creates waiting up to 16 s; the counter shards
// are no factor: with that query left out, four writers on 4 shards
// create 666/s). SQLite serializes its writes itself.
var seedWriters = map[string]int{"sqlite": 4, "firestore": 1}

// Retries of a seed create the store gave up on as inbox.ErrUnavailable
// (after its own contention deadline): up to seedAttempts calls, pausing
// seedBackoff, doubled after each.
const (
	seedAttempts = 5
	seedBackoff  = 100 * time.Millisecond
)

// seedLoad makes Support hold n load conversations (besides the demo's),
// written through the store API by at most writers creates at a time; a
// create the store reports unavailable is retried (see seedAttempts), and
// those already there from an earlier run on the same data are kept. It
// returns the ids of all n.
func seedLoad(ctx context.Context, s inbox.Store, n, writers int, progress io.Writer) ([]string, error) {
	ib, err := s.GetInbox(ctx, "example.com", "support")
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	members := []string{"", "bob@example.com", "carol@example.com"}
	now := time.Now()
	ids := make([]string, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for range max(1, writers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				root := fmt.Sprintf("load-%d@load.example", i)
				at := now.Add(-time.Duration(i%(90*24*60)) * time.Minute)
				c, ev, err := inbox.NewConversation(ib, root, fmt.Sprintf("Load test conversation %d", i),
					fmt.Sprintf("customer%d@customer.example", i), fmt.Sprintf("Customer %d", i), at, at)
				if err == nil {
					switch i % 20 {
					case 0, 1, 2, 3, 4:
					case 5, 6, 7:
						c.Status = inbox.StatusPending
					default:
						c.Status = inbox.StatusClosed
					}
					c.Assignee = members[i%len(members)]
					ids[i] = c.ID
					err = seedCreate(ctx, s, c, root, ev)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("seed conversation %d: %w", i, err):
					default:
					}
					return
				}
				if d := done.Add(1); progress != nil && d%10000 == 0 {
					fmt.Fprintf(progress, "seeded %d of %d conversations\n", d, n)
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return ids, ctx.Err()
}

// seedCreate creates one seed conversation, retrying inbox.ErrUnavailable;
// one created before (by an earlier run, or by an attempt whose commit
// went through although its answer was lost) counts as created. It looks
// the conversation up first: a lookup by key is cheap on every store,
// while a create that finds it there has done a create's work first (on
// the Firestore emulator a query that scans the whole inbox).
func seedCreate(ctx context.Context, s inbox.Store, c inbox.Conversation, root string, ev inbox.Activity) error {
	if _, err := s.GetConversation(ctx, c.TenantID, c.ID); err == nil {
		return nil
	}
	pause := seedBackoff
	for attempt := 1; ; attempt++ {
		err := s.CreateConversation(ctx, c, []string{root}, ev)
		if err == nil || errors.Is(err, inbox.ErrAlreadyExists) {
			return nil
		}
		if !errors.Is(err, inbox.ErrUnavailable) || attempt == seedAttempts {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after: %w)", ctx.Err(), err)
		case <-t.C:
		}
		pause *= 2
	}
}

// loader sends add-on requests as Google would, with tokens minted by the
// dev trust root for each endpoint.
type loader struct {
	app    *devApp
	client *http.Client
	convs  []string
	opens  [][2]string // Gmail message and thread ids in bob's mailbox, as the event carries them
	tokens map[string]addontest.Tokens
	users  []string
}

func newLoader(app *devApp, convs []string) (*loader, error) {
	l := &loader{
		app:    app,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}},
		convs:  convs,
		tokens: map[string]addontest.Tokens{},
		users:  []string{"bob@example.com", "carol@example.com"},
	}
	for _, m := range app.Gmail.MessagesOf("bob@example.com") {
		if slices.Contains(m.LabelIDs, "INBOX") {
			l.opens = append(l.opens, [2]string{m.ID, m.ThreadID})
		}
	}
	if len(l.opens) == 0 {
		return nil, errors.New("loadtest: bob's simulated mailbox holds no mail")
	}
	if len(l.convs) == 0 {
		for _, t := range demo.Threads {
			if t.Inbox == "support" {
				l.convs = append(l.convs, inbox.ConversationID("support", t.MessageID(0)))
			}
		}
	}
	for _, u := range l.users {
		for _, path := range []string{"/addon/homepage", "/addon/message-open", "/addon/action", httpapi.PathBaseline} {
			t, err := devMinter{root: app.Root}.Mint(u, app.BaseURL+path)
			if err != nil {
				return nil, err
			}
			l.tokens[u+path] = addontest.Tokens{System: t.SystemIDToken, User: t.UserIDToken, OAuth: t.UserOAuthToken}
		}
	}
	return l, nil
}

// gmailCalls is every request the Gmail simulator answered so far.
func (l *loader) gmailCalls() int {
	n := 0
	for _, u := range demo.Users() {
		_, reqs := l.app.Gmail.Usage(u)
		for _, c := range reqs {
			n += c
		}
	}
	return n
}

// do sends one request of a kind and reports its status.
func (l *loader) do(ctx context.Context, kind string) (int, error) {
	user := l.users[rand.IntN(len(l.users))]
	var path string
	var ev *addon.Event
	switch kind {
	case kindHome:
		path, ev = "/addon/homepage", addontest.HomepageEvent(l.tokens[user+"/addon/homepage"])
	case kindOpen:
		user = "bob@example.com"
		m := l.opens[rand.IntN(len(l.opens))]
		path, ev = "/addon/message-open", addontest.MessageEvent(l.tokens[user+"/addon/message-open"], m[0], m[1], "")
	case kindList:
		f := []desk.Filter{desk.FilterOpen, desk.FilterUnassigned, desk.FilterMine, desk.FilterPending}[rand.IntN(4)]
		path, ev = "/addon/action", addontest.ActionEvent(l.tokens[user+"/addon/action"],
			map[string]string{cards.ParamOp: cards.OpList, cards.ParamInbox: "support", cards.ParamFilter: string(f)}, nil)
	case kindDetail:
		path, ev = "/addon/action", addontest.ActionEvent(l.tokens[user+"/addon/action"],
			map[string]string{cards.ParamOp: cards.OpDetail, cards.ParamConv: l.convs[rand.IntN(len(l.convs))]}, nil)
	case kindAction:
		// Take a random conversation or give it back, at the version the
		// card would show (read without counting: the card had it).
		id := l.convs[rand.IntN(len(l.convs))]
		c, err := l.app.Store.(*countingStore).Store.GetConversation(ctx, "example.com", id)
		if err != nil {
			return 0, err
		}
		op := desk.OpAssignMe
		if c.Assignee == user {
			op = desk.OpUnassign
		}
		path, ev = "/addon/action", addontest.ActionEvent(l.tokens[user+"/addon/action"],
			map[string]string{cards.ParamOp: string(op), cards.ParamConv: id, cards.ParamVer: strconv.FormatInt(c.Version, 10)}, nil)
	case kindBaseline:
		path, ev = httpapi.PathBaseline, addontest.HomepageEvent(l.tokens[user+httpapi.PathBaseline])
	}
	body, err := ev.JSON()
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.app.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+ev.Auth.SystemIDToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s: %s", kind, resp.Status)
	}
	return resp.StatusCode, nil
}

// runStats are the raw figures of one timed run.
type runStats struct {
	elapsed time.Duration
	lat     map[string][]time.Duration
	errors  map[string]int
	late    int
}

// run sends the mix for d: open loop at o.Rate (latency from the moment a
// request was due, so a slow server cannot hide its queue), or closed loop
// with o.Concurrency requests in flight. progress, if set, gets a line a
// second.
func (l *loader) run(ctx context.Context, o loadtestOptions, mix map[string]int, d time.Duration, progress io.Writer) (runStats, error) {
	var wheel []string
	for _, k := range loadKinds {
		for range mix[k] {
			wheel = append(wheel, k)
		}
	}
	st := runStats{lat: map[string][]time.Duration{}, errors: map[string]int{}}
	var mu sync.Mutex
	var sent, failed atomic.Int64
	record := func(kind string, due time.Time, err error) {
		lat := time.Since(due)
		mu.Lock()
		st.lat[kind] = append(st.lat[kind], lat)
		if err != nil {
			st.errors[kind]++
			failed.Add(1)
		}
		mu.Unlock()
		sent.Add(1)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	stopProgress := func() {}
	if progress != nil {
		stop, stopped := make(chan struct{}), make(chan struct{})
		stopProgress = func() { close(stop); <-stopped }
		go func() {
			defer close(stopped)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case now := <-t.C:
					fmt.Fprintf(progress, "\r%5.1fs  %7d sent  %5d errors  %6.0f req/s ",
						now.Sub(start).Seconds(), sent.Load(), failed.Load(), float64(sent.Load())/now.Sub(start).Seconds())
				}
			}
		}()
	}
	var wg sync.WaitGroup
	if o.Rate > 0 {
		interval := time.Duration(float64(time.Second) / o.Rate)
		inflight := make(chan struct{}, o.Concurrency*32)
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			if w := time.Until(due); w > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(w):
				}
			}
			if ctx.Err() != nil {
				break
			}
			select {
			case inflight <- struct{}{}:
			default:
				st.late++
				inflight <- struct{}{}
			}
			kind := wheel[rand.IntN(len(wheel))]
			wg.Go(func() {
				defer func() { <-inflight }()
				_, err := l.do(context.WithoutCancel(ctx), kind)
				record(kind, due, err)
			})
		}
	} else {
		for range o.Concurrency {
			wg.Go(func() {
				for ctx.Err() == nil {
					kind := wheel[rand.IntN(len(wheel))]
					due := time.Now()
					_, err := l.do(context.WithoutCancel(ctx), kind)
					record(kind, due, err)
				}
			})
		}
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	stopProgress()
	if progress != nil {
		fmt.Fprintln(progress)
	}
	return st, nil
}

// maxRSSMiB is the process's peak resident set size.
func maxRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	kib := float64(ru.Maxrss)
	if runtime.GOOS == "darwin" {
		kib /= 1024 // bytes there
	}
	return kib / 1024
}
