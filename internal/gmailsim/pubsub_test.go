package gmailsim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

// pushRequest is what a push endpoint received.
type pushRequest struct {
	Auth string
	Body map[string]any
}

// pushData decodes message.data of a push body.
func pushData(tb testing.TB, body map[string]any) map[string]any {
	tb.Helper()
	msg, _ := body["message"].(map[string]any)
	s, _ := msg["data"].(string)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("data %q is not standard base64: %v", s, err)
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		tb.Fatalf("data %s: %v", raw, err)
	}
	return data
}

func TestPubSubBody(t *testing.T) {
	t.Parallel()
	before := time.Now().Add(-time.Millisecond)
	b := gmailsim.PubSubBody(gmailsim.Notification{EmailAddress: "alice@acme.test", HistoryID: 9876543210},
		"2070443601311540", "projects/p/subscriptions/s")
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if body["subscription"] != "projects/p/subscriptions/s" || len(body) != 2 {
		t.Errorf("body=%v", body)
	}
	msg := body["message"].(map[string]any)
	if a, ok := msg["attributes"]; ok && len(a.(map[string]any)) != 0 {
		t.Errorf("attributes=%v, want none", a)
	}
	if msg["messageId"] != "2070443601311540" || msg["message_id"] != "2070443601311540" {
		t.Errorf("message ids=%v, %v", msg["messageId"], msg["message_id"])
	}
	pt, err := time.Parse(time.RFC3339Nano, msg["publishTime"].(string))
	if err != nil || msg["publish_time"] != msg["publishTime"] || pt.Before(before) || pt.After(time.Now()) {
		t.Errorf("publishTime=%v publish_time=%v: %v", msg["publishTime"], msg["publish_time"], err)
	}
	want := map[string]any{"emailAddress": "alice@acme.test", "historyId": "9876543210"}
	if diff := cmp.Diff(want, pushData(t, body)); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

// pushEndpoint is an httptest push endpoint answering with the statuses
// of codes in turn, then 204.
type pushEndpoint struct {
	*httptest.Server
	mu    sync.Mutex
	codes []int
	got   []pushRequest
}

func newPushEndpoint(t *testing.T, codes ...int) *pushEndpoint {
	e := &pushEndpoint{codes: codes}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("push %s %q: %s (%v)", r.Method, r.Header.Get("Content-Type"), b, err)
		}
		e.mu.Lock()
		e.got = append(e.got, pushRequest{Auth: r.Header.Get("Authorization"), Body: body})
		code := http.StatusNoContent
		if len(e.codes) > 0 {
			code, e.codes = e.codes[0], e.codes[1:]
		}
		e.mu.Unlock()
		if code == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *pushEndpoint) requests() []pushRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]pushRequest(nil), e.got...)
}

func flush(t *testing.T, p *gmailsim.Pusher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func TestPusherRetries(t *testing.T) {
	t.Parallel()
	ep := newPushEndpoint(t, 500, 503, 429, 200)
	p := gmailsim.NewPusher(gmailsim.PusherOptions{
		Endpoint:     ep.URL + "/push",
		Subscription: "projects/p/subscriptions/s",
		Token: func(_ context.Context, audience string) (string, error) {
			return "oidc-for-" + audience, nil
		},
		MinBackoff: 10 * time.Millisecond,
	})
	defer p.Close()
	p.Notify(gmailsim.Notification{EmailAddress: "alice@acme.test", HistoryID: 42})
	flush(t, p) // returns only once the fourth attempt was acknowledged

	got := ep.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4", len(got))
	}
	first := got[0].Body["message"].(map[string]any)
	for i, r := range got {
		if r.Auth != "Bearer oidc-for-"+ep.URL+"/push" {
			t.Errorf("request %d Authorization=%q", i, r.Auth)
		}
		// A redelivery is the same Pub/Sub message.
		if m := r.Body["message"].(map[string]any); m["messageId"] != first["messageId"] || m["publishTime"] != first["publishTime"] {
			t.Errorf("request %d message=%v, first %v", i, m, first)
		}
		if r.Body["subscription"] != "projects/p/subscriptions/s" {
			t.Errorf("subscription=%v", r.Body["subscription"])
		}
	}
	if d := pushData(t, got[3].Body); d["historyId"] != "42" || d["emailAddress"] != "alice@acme.test" {
		t.Errorf("data=%v", d)
	}
	if st := p.Stats(); st != (gmailsim.PusherStats{Attempts: 4, Delivered: 1}) {
		t.Errorf("Stats=%+v", st)
	}
}

func TestPusherAcks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		ack  bool
	}{
		{200, true}, {201, true}, {202, true}, {204, true},
		{302, false}, {400, false}, {401, false}, {404, false}, {500, false},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			t.Parallel()
			ep := newPushEndpoint(t, tc.code, tc.code, tc.code)
			p := gmailsim.NewPusher(gmailsim.PusherOptions{Endpoint: ep.URL, MaxAttempts: 3, MinBackoff: time.Millisecond})
			defer p.Close()
			p.Notify(gmailsim.Notification{EmailAddress: "a@acme.test", HistoryID: 1})
			flush(t, p)
			want := gmailsim.PusherStats{Attempts: 1, Delivered: 1}
			if !tc.ack {
				want = gmailsim.PusherStats{Attempts: 3, Dropped: 1}
			}
			if st := p.Stats(); st != want {
				t.Errorf("Stats=%+v, want %+v", st, want)
			}
			got := ep.requests()
			if len(got) != want.Attempts {
				t.Fatalf("%d requests, want %d", len(got), want.Attempts)
			}
			if got[0].Auth != "" {
				t.Errorf("Authorization=%q without a Token func", got[0].Auth)
			}
		})
	}
}

func TestPusherTokenError(t *testing.T) {
	t.Parallel()
	ep := newPushEndpoint(t)
	fail := true
	p := gmailsim.NewPusher(gmailsim.PusherOptions{
		Endpoint: ep.URL,
		Token: func(context.Context, string) (string, error) {
			if fail {
				fail = false // attempts of one notification run one at a time
				return "", errors.New("metadata server down")
			}
			return "tok", nil
		},
		MinBackoff: time.Millisecond,
	})
	defer p.Close()
	p.Notify(gmailsim.Notification{EmailAddress: "a@acme.test", HistoryID: 1})
	flush(t, p)
	if got := ep.requests(); len(got) != 1 || got[0].Auth != "Bearer tok" {
		t.Errorf("requests=%+v", got)
	}
	if st := p.Stats(); st != (gmailsim.PusherStats{Attempts: 2, Delivered: 1}) {
		t.Errorf("Stats=%+v", st)
	}
}

func TestPusherClose(t *testing.T) {
	t.Parallel()
	ep := newPushEndpoint(t, 500, 500, 500)
	p := gmailsim.NewPusher(gmailsim.PusherOptions{Endpoint: ep.URL, MinBackoff: time.Hour})
	p.Notify(gmailsim.Notification{EmailAddress: "a@acme.test", HistoryID: 1})
	for deadline := time.Now().Add(5 * time.Second); len(ep.requests()) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush during a long backoff: %v", err)
	}
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the backoff")
	}
	p.Notify(gmailsim.Notification{EmailAddress: "a@acme.test", HistoryID: 2})
	if st := p.Stats(); st != (gmailsim.PusherStats{Attempts: 1, Dropped: 2}) {
		t.Errorf("Stats=%+v", st)
	}
	flush(t, p)
}

// TestPushEndToEnd wires the simulator's notifications to a Pusher, as a
// sync engine's tests would.
func TestPushEndToEnd(t *testing.T) {
	t.Parallel()
	ep := newPushEndpoint(t)
	p := gmailsim.NewPusher(gmailsim.PusherOptions{Endpoint: ep.URL, NumericHistoryID: true})
	defer p.Close()
	env := MustStart(t, gmailsim.Options{Notify: p.Notify}, "alice@acme.test")
	svc := env.MustClient(t, "alice@acme.test")
	mustWatch(t, svc, &gmail.WatchRequest{TopicName: topic})
	env.MustDeliver(t, mailText("a@x", "A", "", "a"), "alice@acme.test")
	flush(t, p)
	got := ep.requests()
	if len(got) != 2 {
		t.Fatalf("%d pushes, want 2 (watch, delivery)", len(got))
	}
	var last float64
	for _, r := range got {
		if h := pushData(t, r.Body)["historyId"].(float64); h > last {
			last = h
		}
	}
	if uint64(last) != mustProfileHistory(t, svc) {
		t.Errorf("latest pushed historyId=%v, want the current one", last)
	}
}
