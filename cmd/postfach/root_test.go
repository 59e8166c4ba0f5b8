package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/demo"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// syncBuffer is an io.Writer safe for the concurrent writes of a logger
// and the reads of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Finding 3: no command guesses a store.
func TestNoGuessedStore(t *testing.T) {
	t.Parallel()
	serveEnv := map[string]string{
		"POSTFACH_BASE_URL":                  "https://postfach.example.com",
		"POSTFACH_ADDON_SERVICE_ACCOUNT":     "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
		"POSTFACH_OAUTH_CLIENT_ID":           "1.apps.googleusercontent.com",
		"POSTFACH_PUBSUB_TOPIC":              "projects/p/topics/t",
		"POSTFACH_PUSH_SERVICE_ACCOUNT":      "push@p.iam.gserviceaccount.com",
		"POSTFACH_SCHEDULER_SERVICE_ACCOUNT": "sched@p.iam.gserviceaccount.com",
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"serve", []string{"serve"}, serveEnv, "POSTFACH_STORE is not set"},
		{"admin add", []string{"admin", "add", "--domain", "example.com", "--email", "alice@example.com"}, nil, "POSTFACH_STORE is not set"},
		{"admin add, sqlite without a path", []string{"admin", "add", "--domain", "example.com", "--email", "alice@example.com"},
			map[string]string{"POSTFACH_STORE": "sqlite"}, "POSTFACH_SQLITE_PATH is not set"},
		{"watch renew", []string{"watch", "renew"}, serveEnv, "POSTFACH_STORE is not set"},
		{"check", []string{"check"}, serveEnv, "POSTFACH_STORE is not set"},
		{"dev with an unknown store", []string{"dev", "--store", "mongo", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, nil, `--store "mongo": want sqlite or firestore`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr, func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if code := exitCode(err, io.Discard); code == 0 {
				t.Errorf("exit code 0 for %v", err)
			}
		})
	}
}

// Finding 8: every subcommand's --help succeeds and lists its flags and
// environment; a bad command line exits 2.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		args := []string{c.name, "--help"}
		switch c.name {
		case "watch":
			args = []string{"watch", "renew", "--help"}
		case "admin":
			args = []string{"admin", "add", "--help"}
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), args, &stdout, &stderr, func(string) string { return "" })
			if code := exitCode(err, io.Discard); code != 0 {
				t.Fatalf("%v: exit %d (%v)", args, code, err)
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "usage: postfach "+strings.Join(args[:len(args)-1], " ")) {
				t.Errorf("help does not start with the usage line:\n%s", out)
			}
			wants := map[string][]string{
				"serve":    {"environment:", "POSTFACH_STORE", "POSTFACH_BASE_URL", "POSTFACH_DELEGATION_KEY", "POSTFACH_GOOGLE_CERTS_URL"},
				"check":    {"environment:", "POSTFACH_STORE", "-timeout"},
				"dev":      {"-addr", "-store", "-reset", "LOG_LEVEL"},
				"admin":    {"-domain", "-email", "POSTFACH_STORE", "POSTFACH_SQLITE_PATH"},
				"watch":    {"-within", "POSTFACH_PUBSUB_TOPIC"},
				"deploy":   {"-project", "-install", "GOOGLE_CLOUD_PROJECT"},
				"manifest": {"-base-url"},
				"load":     {"-base-url", "-concurrency"},
				"loadtest": {"-conversations", "-rate", "-json", "FIRESTORE_EMULATOR_HOST"},
				"chaos":    {"-deliveries", "-crashes", "-store", "PUBSUB_EMULATOR_HOST"},
				"version":  {"usage: postfach version"},
			}[c.name]
			for _, w := range wants {
				if !strings.Contains(out, w) {
					t.Errorf("help of %s lacks %q:\n%s", c.name, w, out)
				}
			}
		})
	}
	for _, args := range [][]string{nil, {"nonsense"}, {"serve", "--nonsense"}, {"serve", "stray"}, {"watch"}, {"admin", "remove"}, {"manifest"}} {
		err := run(t.Context(), args, io.Discard, io.Discard, func(string) string { return "" })
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("%q: exit %d (%v), want 2", args, code, err)
		}
	}
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"help"}, &stdout, io.Discard, nil); err != nil || !strings.Contains(stdout.String(), "check") {
		t.Errorf("help: %v\n%s", err, stdout.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"version"}, &stdout, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	// A test binary has no VCS stamp: "(devel) (unknown revision, go1.x)".
	if !regexp.MustCompile(`^postfach \S+ \((unknown revision|[0-9a-f]{40})(, modified)?, go1\.[0-9.]+\S*\)\n$`).MatchString(stdout.String()) {
		t.Errorf("version = %q", stdout.String())
	}
}

// Findings 5 and 8: unknown paths are 404 and wrong methods 405, without a
// token check; dev explains a refused token, /dev/deliver refuses what is
// not a mail.
func TestRoutesAndRefusals(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h := startHarnessWith(t, devConfig{Log: slog.New(slog.NewJSONHandler(logs, nil))})
	base := h.app.BaseURL
	tests := []struct {
		method, path string
		body         string
		want         int
		wantBody     string
	}{
		{"GET", "/", "", http.StatusOK, `id="pf-config"`},
		{"GET", "/index.html", "", http.StatusNotFound, ""},
		{"GET", "/playground/no-such.js", "", http.StatusNotFound, ""},
		{"GET", "/no-such-page", "", http.StatusNotFound, ""},
		{"POST", "/addon/no-such-trigger", "{}", http.StatusNotFound, ""},
		{"DELETE", "/healthz", "", http.StatusMethodNotAllowed, ""},
		{"GET", "/addon/homepage", "", http.StatusMethodNotAllowed, ""},
		{"GET", "/healthz", "", http.StatusOK, "ok"},
		{"GET", "/readyz", "", http.StatusOK, "ready"},
		{"POST", "/dev/deliver", `{"to":"support@example.com","raw":"garbage"}`, http.StatusBadRequest, "not an RFC 5322 mail"},
		{"POST", "/dev/deliver", `{"to":"support@example.com","raw":"Subject: hi\r\n\r\nno sender\r\n"}`, http.StatusBadRequest, "no From header"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.path, resp.StatusCode, body, tc.want, tc.wantBody)
		}
	}
	if strings.Contains(logs.String(), "add-on request rejected") {
		t.Errorf("a token check ran for an unmatched route:\n%s", logs.String())
	}

	// A token minted for localhost reaches a server at 127.0.0.1: dev says
	// which audience it got and which it wants.
	localhost := strings.Replace(base, "127.0.0.1", "localhost", 1) + "/addon/homepage"
	tok := h.tokens("bob@example.com", localhost)
	r := h.send(addontest.NewRequest(http.MethodPost, base+"/addon/homepage",
		addontest.HomepageEvent(addontest.Tokens{User: tok.UserIDToken, OAuth: tok.UserOAuthToken}), tok.SystemIDToken))
	if r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "audience mismatch") || !strings.Contains(r.raw, localhost) || !strings.Contains(r.raw, base+"/addon/homepage") {
		t.Errorf("localhost token: %d %s, want 401 naming both audiences", r.status, r.raw)
	}
}

// Finding 4: shutdown lets the background sync a push started finish
// (within the grace period) before it closes the store: the mail the sync
// was fetching is stored, and nothing was cut off.
func TestShutdownWaitsForBackgroundSync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := startDev(ctx, devConfig{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Gmail answers bob's next history reads with 503s: the sync backs
	// off and retries (at most 0.5+1+2 s with full jitter, well inside
	// the grace period), so it is still running when the server stops.
	app.Gmail.InjectFaults("bob@example.com", "history.list", gmailsim.FaultUnavailable, gmailsim.FaultUnavailable, gmailsim.FaultUnavailable)
	if _, err := app.Gmail.Deliver([]byte("From: Nora <nora@customer.example>\r\nTo: bob@example.com\r\nSubject: Slow\r\nMessage-ID: <slow@customer.example>\r\n\r\nHi\r\n"), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's mailbox sync to start", func() bool {
		m, err := app.Store.GetMailbox(ctx, "bob@example.com")
		return err == nil && m.LeaseHolder != ""
	})
	if err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitedb.Open(context.Background(), filepath.Join(dir, "postfach.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.GetMailbox(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m.LeaseHolder != "" || m.LastError != "" {
		t.Errorf("bob's mailbox after shutdown: lease %q, last error %q: the sync was cut off", m.LeaseHolder, m.LastError)
	}
	// bob is no member of an inbox: the mail is recorded nowhere, but the
	// sync read it and moved the cursor past it.
	if m.HistoryID < m.NotifiedHistoryID {
		t.Errorf("cursor %d behind the announced history %d: the sync did not finish", m.HistoryID, m.NotifiedHistoryID)
	}
}

// Finding 6: /readyz answers 503 until the demo mailboxes are linked, and a
// mail delivered while they are being linked is synced without waiting for
// a later notification.
func TestReadinessAndMailDuringStartup(t *testing.T) {
	t.Parallel()
	// Reserve a port, so the test can talk to the server while startDev
	// is still linking.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type started struct {
		app *devApp
		err error
	}
	done := make(chan started, 1)
	go func() {
		app, err := startDev(ctx, devConfig{Addr: addr, DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
		done <- started{app, err}
	}()
	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const raw = "From: Olga <olga@customer.example>\r\nTo: support@example.com\r\nSubject: During start\r\nMessage-ID: <during-start@customer.example>\r\n\r\nHi\r\n"
	var res started
	deliveredEarly := false
	for res.app == nil && res.err == nil {
		select {
		case res = <-done:
			continue
		default:
		}
		if get("/healthz") == http.StatusOK {
			if got := get("/readyz"); got != http.StatusServiceUnavailable && got != http.StatusOK {
				t.Fatalf("/readyz during start-up: %d", got)
			} else if got == http.StatusServiceUnavailable && !deliveredEarly {
				resp, err := http.Post(base+"/dev/deliver", "application/json", strings.NewReader(fmt.Sprintf(`{"to":"support@example.com","raw":%q}`, raw)))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("deliver: %s", resp.Status)
				}
				deliveredEarly = get("/readyz") == http.StatusServiceUnavailable
			}
		}
		time.Sleep(time.Millisecond)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Cleanup(func() { cancel(); res.app.Wait() })
	if !deliveredEarly {
		t.Log("the start-up was too fast to deliver during it; checked readiness only")
	}
	if got := get("/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz after start-up: %d", got)
	}
	if !deliveredEarly {
		return
	}
	id := inbox.ConversationID("support", "during-start@customer.example")
	eventually(t, "the mail delivered during start-up to become a conversation", func() bool {
		_, err := res.app.Store.GetConversation(ctx, "example.com", id)
		return err == nil
	})
}

// Finding 8: dev prints its banner once ready, and request logs stay at
// debug: the terminal is not flooded before the banner.
func TestDevBannerAndQuietLogs(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	stderr := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, stdoutW, stderr, func(string) string { return "" })
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	go io.Copy(io.Discard, stdoutR)
	cancel()
	if rerr := <-errc; rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil || !strings.HasPrefix(line, "Postfach dev is running on http://127.0.0.1:") {
		t.Fatalf("first stdout line %q (%v)", line, err)
	}
	logLines := strings.Count(stderr.String(), "\n")
	if strings.Contains(stderr.String(), `"severity":"INFO","message":"request"`) || logLines > 40 {
		t.Errorf("%d log lines at the default level, request lines among them:\n%s", logLines, stderr.String())
	}
}

// The end-to-end wiring serve runs, from its environment: Google played by
// stand-ins at the configured endpoints (Gmail, OAuth, certs), a verified
// add-on request answered, a message-open read through the Gmail endpoint,
// dev routes absent, and a clean stop.
func TestServeWiring(t *testing.T) {
	t.Parallel()
	root, err := addontest.NewTrustRoot()
	if err != nil {
		t.Fatal(err)
	}
	google := oauthsim.New(oauthsim.Options{ClientID: "connect", ClientSecret: "secret"})
	sim := gmailsim.New(gmailsim.Options{Authenticate: func(r *http.Request) (string, error) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if email, err := root.VerifyAccessToken(tok); err == nil {
			return email, nil
		}
		return google.Authenticate(r)
	}})
	for _, u := range demo.Users() {
		sim.AddMailbox(u)
	}
	now := time.Now()
	if err := demo.SeedMail(func(raw []byte, to []string) error { _, err := sim.Deliver(raw, to...); return err }, now); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/gmail/", sim.Handler())
	mux.Handle("/oauth/", http.StripPrefix("/oauth", google.Handler()))
	mux.HandleFunc("GET /certs", func(w http.ResponseWriter, _ *http.Request) { w.Write(root.JWKS()) })
	stand := httptest.NewServer(mux)
	t.Cleanup(stand.Close)
	key, err := google.ServiceAccountKey("sync@p.iam.gserviceaccount.com", stand.URL+"/oauth/token")
	if err != nil {
		t.Fatal(err)
	}
	google.GrantDelegation("sync@p.iam.gserviceaccount.com", mailboxauth.Scopes...)

	dbPath := filepath.Join(t.TempDir(), "postfach.db")
	store, err := sqlitedb.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.SeedStore(t.Context(), store, now); err != nil {
		t.Fatal(err)
	}
	store.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	base := "http://127.0.0.1:" + port
	const sa = "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	const client = "1.apps.googleusercontent.com"
	env := map[string]string{
		"PORT":                               port,
		"POSTFACH_BASE_URL":                  base,
		"POSTFACH_ADDON_SERVICE_ACCOUNT":     sa,
		"POSTFACH_OAUTH_CLIENT_ID":           client,
		"POSTFACH_STORE":                     "sqlite",
		"POSTFACH_SQLITE_PATH":               dbPath,
		"POSTFACH_PUBSUB_TOPIC":              "projects/p/topics/gmail",
		"POSTFACH_PUSH_SERVICE_ACCOUNT":      "push@p.iam.gserviceaccount.com",
		"POSTFACH_SCHEDULER_SERVICE_ACCOUNT": "scheduler@p.iam.gserviceaccount.com",
		"POSTFACH_DELEGATION_KEY":            string(key),
		"POSTFACH_GMAIL_ENDPOINT":            stand.URL + "/",
		"POSTFACH_GOOGLE_TOKEN_URL":          stand.URL + "/oauth/token",
		"POSTFACH_GOOGLE_CERTS_URL":          stand.URL + "/certs",
		"POSTFACH_REPORT_KEY":                strings.Repeat("cmVwb3J0", 6), // 36 bytes
	}
	getenv := func(k string) string { return env[k] }

	var checkOut bytes.Buffer
	if err := run(t.Context(), []string{"check"}, &checkOut, io.Discard, getenv); err != nil {
		t.Fatalf("check: %v\n%s", err, checkOut.String())
	}
	for _, w := range []string{`store reachable\s+yes`, `push sync\s+on`, `delegation\s+on, key parses`, `connect my mailbox\s+off`, `report charts\s+on, key decodes`} {
		if !regexp.MustCompile(w).MatchString(checkOut.String()) {
			t.Errorf("check output lacks %q:\n%s", w, checkOut.String())
		}
	}
	if strings.Contains(checkOut.String(), "PRIVATE KEY") {
		t.Error("check printed the delegation key")
	}

	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"serve"}, logs, io.Discard, getenv) }()
	eventually(t, "serve to be ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	call := func(path string, ev *addon.Event, email string) (int, string) {
		t.Helper()
		sys, _ := root.SystemIDToken(base+path, sa)
		usr, _ := root.UserIDToken(client, addon.User{Email: email, Domain: inbox.DomainOf(email)})
		oauth, _ := root.AccessToken(email, devGmailScope, time.Hour)
		ev.Auth.SystemIDToken, ev.Auth.UserIDToken, ev.Auth.UserOAuthToken = sys, usr, oauth
		resp, err := http.DefaultClient.Do(addontest.NewRequest(http.MethodPost, base+path, ev, sys))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("/addon/homepage", addontest.HomepageEvent(addontest.Tokens{}), "bob@example.com"); code != http.StatusOK || !strings.Contains(body, "Support") {
		t.Errorf("homepage: %d %s", code, body)
	}
	m, ok := sim.FindByMessageID("bob@example.com", refund.MessageID(0))
	if !ok {
		t.Fatal("no refund mail in bob's simulated mailbox")
	}
	if code, body := call("/addon/message-open", addontest.MessageEvent(addontest.Tokens{}, m.ID, m.ThreadID, "x"), "bob@example.com"); code != http.StatusOK || !strings.Contains(body, refund.Subject) {
		t.Errorf("message-open: %d %s", code, body)
	}
	// serve has no dev routes, and tells a refused caller nothing more.
	for path, want := range map[string]int{"/dev/tokens?email=bob@example.com&url=x": http.StatusNotFound, "/": http.StatusNotFound,
		"/playground/app.js": http.StatusNotFound, "/playground/deployment.json": http.StatusNotFound,
		// The report chart is served, to signed links only.
		httpapi.PathReportChart + "?k=x.y": http.StatusForbidden} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	other, _ := addontest.NewTrustRoot()
	forged, _ := other.SystemIDToken(base+"/addon/homepage", sa)
	resp, err := http.DefaultClient.Do(addontest.NewRequest(http.MethodPost, base+"/addon/homepage", addontest.HomepageEvent(addontest.Tokens{}), forged))
	if err != nil {
		t.Fatal(err)
	}
	forgedBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(string(forgedBody)) != `{"error":"unauthenticated"}` {
		t.Errorf("forged token: %d %s, want a terse 401", resp.StatusCode, forgedBody)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve: %v", err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	var msgs []string
	for _, m := range lines {
		msgs = append(msgs, fmt.Sprint(m["message"]))
	}
	joined := strings.Join(msgs, "|")
	for _, w := range []string{"store opened", "ready", "stopped"} {
		if !strings.Contains(joined, w) {
			t.Errorf("serve logs lack %q: %s", w, joined)
		}
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Error("serve logged the delegation key")
	}
}
