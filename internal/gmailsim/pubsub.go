package gmailsim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// pubSubUserAgent is the User-Agent of Pub/Sub push requests.
const pubSubUserAgent = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"

// pushBody is the JSON Pub/Sub POSTs to a push endpoint. Gmail sets no
// attributes, so the field is left out.
type pushBody struct {
	Message struct {
		Data           string `json:"data"`
		MessageID      string `json:"messageId"`
		MessageIDSnake string `json:"message_id"`
		PublishTime    string `json:"publishTime"`
		PublishSnake   string `json:"publish_time"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// PubSubBody returns the body of the Pub/Sub push request that delivers n:
// message.data is the standard base64 of
// {"emailAddress":"…","historyId":"<decimal string>"}, messageId and
// message_id are pubsubMessageID, publishTime and publish_time are now (UTC,
// RFC 3339 with milliseconds), and subscription is as given. The Gmail push
// guide shows historyId as a string; webhook payloads with a JSON number
// have been reported too, so receivers should accept both (see
// PusherOptions.NumericHistoryID).
func PubSubBody(n Notification, pubsubMessageID, subscription string) []byte {
	return pubSubBody(n, pubsubMessageID, subscription, time.Now(), false)
}

func pubSubBody(n Notification, id, subscription string, at time.Time, numeric bool) []byte {
	var data []byte
	if numeric {
		data, _ = json.Marshal(struct {
			EmailAddress string `json:"emailAddress"`
			HistoryID    uint64 `json:"historyId"`
		}{n.EmailAddress, n.HistoryID})
	} else {
		data, _ = json.Marshal(struct {
			EmailAddress string `json:"emailAddress"`
			HistoryID    uint64 `json:"historyId,string"`
		}{n.EmailAddress, n.HistoryID})
	}
	var b pushBody
	b.Message.Data = base64.StdEncoding.EncodeToString(data)
	b.Message.MessageID, b.Message.MessageIDSnake = id, id
	ts := at.UTC().Format("2006-01-02T15:04:05.000Z")
	b.Message.PublishTime, b.Message.PublishSnake = ts, ts
	b.Subscription = subscription
	out, _ := json.Marshal(&b) // cannot fail: strings only
	return out
}

// PusherOptions configure a Pusher.
type PusherOptions struct {
	// Endpoint is the URL push requests are POSTed to. Required.
	Endpoint string
	// Token returns the bearer token of a request, given the audience (the
	// Endpoint, Pub/Sub's default OIDC audience). Nil sends no
	// Authorization header. An error counts as a failed attempt.
	Token func(ctx context.Context, audience string) (string, error)
	// Client sends the requests. The default client does not follow
	// redirects: like any status besides 102, 200, 201, 202 and 204, a 3xx
	// is a negative acknowledgement.
	Client *http.Client
	// Subscription names the push subscription in the body. Defaults to
	// "projects/gmailsim/subscriptions/gmail-push".
	Subscription string
	// Logger receives a line per failed attempt and per dropped
	// notification. Defaults to discarding everything.
	Logger *slog.Logger
	// MaxAttempts bounds the deliveries of one notification; after the last
	// failure it is dropped. Defaults to 5. (Pub/Sub itself retries until
	// the message retention runs out.)
	MaxAttempts int
	// MinBackoff is the wait after the first failure; it doubles after each
	// further failure up to MaxBackoff. Defaults: 100ms and 10s, Pub/Sub's
	// push backoff ranging from 100 milliseconds to 60 seconds.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one request, like a subscription's ack deadline.
	// Defaults to 10s, Pub/Sub's default.
	AttemptTimeout time.Duration
	// NumericHistoryID sends historyId as a JSON number inside
	// message.data instead of a string, to test receivers against both
	// forms.
	NumericHistoryID bool
}

// PusherStats count what a Pusher did.
type PusherStats struct {
	Attempts  int // requests sent, or tried when Token failed
	Delivered int // notifications acknowledged
	Dropped   int // notifications given up: attempts exhausted or Close
}

// Pusher delivers notifications the way a Pub/Sub push subscription does:
// one POST per notification with an "Authorization: Bearer" token, retried
// with exponential backoff until the endpoint answers 102, 200, 201, 202 or
// 204. Use its Notify as Options.Notify. It is safe for concurrent use.
type Pusher struct {
	opts   PusherOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight int
	idle     chan struct{} // closed when inflight drops to zero
	nextID   uint64
	stats    PusherStats
}

// NewPusher returns a Pusher. It panics without an Endpoint, which is a
// programming error.
func NewPusher(opts PusherOptions) *Pusher {
	if opts.Endpoint == "" {
		panic("gmailsim.NewPusher: PusherOptions.Endpoint is required")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	opts.Subscription = cmp.Or(opts.Subscription, "projects/gmailsim/subscriptions/gmail-push")
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.MaxAttempts = cmp.Or(max(opts.MaxAttempts, 0), 5)
	opts.MinBackoff = cmp.Or(max(opts.MinBackoff, 0), 100*time.Millisecond)
	opts.MaxBackoff = max(cmp.Or(opts.MaxBackoff, 10*time.Second), opts.MinBackoff)
	opts.AttemptTimeout = cmp.Or(max(opts.AttemptTimeout, 0), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	idle := make(chan struct{})
	close(idle)
	return &Pusher{
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		idle:   idle,
		// Pub/Sub message ids are decimal numbers unique within the topic.
		nextID: 1e15 + rand.Uint64N(1e15),
	}
}

// Notify delivers n in the background. After Close it drops n.
func (p *Pusher) Notify(n Notification) {
	p.mu.Lock()
	if p.closed {
		p.stats.Dropped++
		p.mu.Unlock()
		p.opts.Logger.Warn("gmailsim: push after Close dropped", "email", n.EmailAddress, "historyId", n.HistoryID)
		return
	}
	if p.inflight == 0 {
		p.idle = make(chan struct{})
	}
	p.inflight++
	p.nextID++
	id := strconv.FormatUint(p.nextID, 10)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.deliver(n, id)
}

// deliver sends one notification until it is acknowledged, the attempts
// run out or the Pusher is closed. Every attempt carries the same message
// id and publish time, as a Pub/Sub redelivery does.
func (p *Pusher) deliver(n Notification, id string) {
	defer p.wg.Done()
	body := pubSubBody(n, id, p.opts.Subscription, time.Now(), p.opts.NumericHistoryID)
	log := p.opts.Logger.With("email", n.EmailAddress, "historyId", n.HistoryID, "messageId", id)
	backoff := p.opts.MinBackoff
	ok := false
	for attempt := 1; ; attempt++ {
		p.count(func(st *PusherStats) { st.Attempts++ })
		err := p.post(body)
		if err == nil {
			ok = true
			break
		}
		if attempt == p.opts.MaxAttempts || p.ctx.Err() != nil {
			log.Error("gmailsim: push dropped", "attempts", attempt, "error", err)
			break
		}
		log.Warn("gmailsim: push failed, retrying", "attempt", attempt, "backoff", backoff, "error", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			log.Error("gmailsim: push dropped by Close", "attempts", attempt, "error", err)
		}
		if p.ctx.Err() != nil {
			break
		}
		backoff = min(2*backoff, p.opts.MaxBackoff)
	}
	p.mu.Lock()
	if ok {
		p.stats.Delivered++
	} else {
		p.stats.Dropped++
	}
	if p.inflight--; p.inflight == 0 {
		close(p.idle)
	}
	p.mu.Unlock()
}

// errNack is an answer Pub/Sub treats as a negative acknowledgement.
var errNack = errors.New("negative acknowledgement")

// post makes one delivery attempt; nil means acknowledged.
func (p *Pusher) post(body []byte) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.opts.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", pubSubUserAgent)
	if p.opts.Token != nil {
		tok, err := p.opts.Token(ctx, p.opts.Endpoint)
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := p.opts.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch res.StatusCode {
	case http.StatusProcessing, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
		return nil
	}
	return fmt.Errorf("%w: HTTP %d", errNack, res.StatusCode)
}

func (p *Pusher) count(f func(*PusherStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// Stats returns what the Pusher did so far.
func (p *Pusher) Stats() PusherStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Flush waits until every notification handed to Notify so far has been
// acknowledged or dropped, or ctx is done.
func (p *Pusher) Flush(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the Pusher: notifications still being delivered get no
// further attempt (a request under way is cancelled) and later ones are
// dropped. It returns when every delivery goroutine has ended. Call Flush
// first to deliver everything.
func (p *Pusher) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}
