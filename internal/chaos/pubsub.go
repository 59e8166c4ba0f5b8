package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/postfach/postfach/internal/gmailsim"
)

// bus is Google's Pub/Sub emulator between the Gmail simulator and the
// child: notifications are published to a topic whose push subscription
// delivers to the relay.
type bus struct {
	client    *pubsub.Client
	pub       *pubsub.Publisher
	topic     string
	published atomic.Int64
	failed    atomic.Int64
	log       *slog.Logger
}

// newBus creates the topic and the push subscription in a project of the
// emulator named by PUBSUB_EMULATOR_HOST.
func newBus(ctx context.Context, project, pushEndpoint string, log *slog.Logger) (*bus, error) {
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("pubsub emulator: %w", err)
	}
	b := &bus{client: c, topic: "projects/" + project + "/topics/gmail", log: log}
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: b.topic}); err != nil {
		c.Close()
		return nil, fmt.Errorf("create topic: %w", err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               "projects/" + project + "/subscriptions/gmail-push",
		Topic:              b.topic,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: pushEndpoint},
		AckDeadlineSeconds: 10,
		RetryPolicy:        &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(time.Second), MaximumBackoff: durationpb.New(10 * time.Second)},
	}); err != nil {
		c.Close()
		return nil, fmt.Errorf("create push subscription: %w", err)
	}
	b.pub = c.Publisher(b.topic)
	return b, nil
}

// notify publishes a Gmail notification as Gmail does.
func (b *bus) notify(n gmailsim.Notification) {
	res := b.pub.Publish(context.Background(), &pubsub.Message{Data: notificationData(n)})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := res.Get(ctx); err != nil {
			b.failed.Add(1)
			b.log.Warn("publish failed", "error", err)
			return
		}
		b.published.Add(1)
	}()
}

func (b *bus) close() {
	b.pub.Stop()
	b.client.Close()
}

// relay receives the emulator's pushes and hands them to the child's push
// endpoint with the OIDC token Pub/Sub would attach (the emulator sends
// none). While chaos is on it drops some (acknowledging them, as if Gmail
// never sent them), delivers some twice and delays each by a random
// moment, so they arrive out of order. The emulator gets the child's
// answer: a dead or failing child is a negative acknowledgement, and the
// emulator redelivers.
type relay struct {
	target, audience  string
	token             func(audience string) (string, error)
	client            *http.Client
	dropRate, dupRate float64
	maxDelay          time.Duration

	chaos atomic.Bool
	rmu   sync.Mutex
	rng   *rand.Rand

	mu   sync.Mutex
	seen map[string]bool // Pub/Sub message ids

	received, dropped, duplicated, redelivered, nacked, withToken atomic.Int64
	wg                                                            sync.WaitGroup
	srv                                                           *http.Server
	url                                                           string
}

func newRelay(seed uint64, target, audience string, token func(string) (string, error), dropRate, dupRate float64) (*relay, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	r := &relay{
		target: target, audience: audience, token: token,
		client:   &http.Client{Timeout: 15 * time.Second},
		dropRate: dropRate, dupRate: dupRate, maxDelay: 300 * time.Millisecond,
		rng:  rand.New(rand.NewPCG(seed, 0xa0761d6478bd642f)),
		seen: map[string]bool{},
		url:  "http://" + l.Addr().String() + "/push",
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *relay) roll() (drop, dup bool, delay time.Duration) {
	if !r.chaos.Load() {
		return false, false, 0
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return r.rng.Float64() < r.dropRate, r.rng.Float64() < r.dupRate, time.Duration(r.rng.Int64N(int64(r.maxDelay)))
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.received.Add(1)
	if req.Header.Get("Authorization") != "" {
		r.withToken.Add(1)
	}
	var env struct {
		Message struct {
			MessageID string `json:"messageId"`
		} `json:"message"`
	}
	if json.Unmarshal(body, &env) == nil && env.Message.MessageID != "" {
		r.mu.Lock()
		if r.seen[env.Message.MessageID] {
			r.redelivered.Add(1)
		}
		r.seen[env.Message.MessageID] = true
		r.mu.Unlock()
	}
	drop, dup, delay := r.roll()
	if drop {
		r.dropped.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if dup {
		r.duplicated.Add(1)
		_, _, later := r.roll()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			time.Sleep(delay + later + 50*time.Millisecond)
			r.forward(context.Background(), body)
		}()
	}
	time.Sleep(delay)
	code := r.forward(req.Context(), body)
	if code < 200 || code > 299 {
		r.nacked.Add(1)
	}
	w.WriteHeader(code)
}

// forward posts a push body to the child and returns its status, 503 when
// it could not be reached.
func (r *relay) forward(ctx context.Context, body []byte) int {
	tok, err := r.token(r.audience)
	if err != nil {
		return http.StatusInternalServerError
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target, bytes.NewReader(body))
	if err != nil {
		return http.StatusInternalServerError
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return http.StatusServiceUnavailable
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (r *relay) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
	r.wg.Wait()
}
