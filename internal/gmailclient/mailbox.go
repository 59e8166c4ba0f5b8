package gmailclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/syncer"
)

// TokenSources gives access to mailboxes without a user present: domain-wide
// delegation or stored offline consent in production, a development trust
// root in dev mode and tests.
type TokenSources interface {
	TokenSource(ctx context.Context, mailbox string) (oauth2.TokenSource, error)
}

// DialerOptions configure a Dialer.
type DialerOptions struct {
	Endpoint  string // Gmail API base URL; Google's by default
	Transport http.RoundTripper
	Tokens    TokenSources
	// UnitsPerSecond is the steady per-mailbox rate of quota units. The
	// limiter's burst is maxCallUnits, so no one-second window exceeds
	// UnitsPerSecond+100: the default 150 keeps Postfach under Gmail's 250
	// units per second per user.
	UnitsPerSecond int
	// Fetchers is how many messages.get run at once per mailbox. Default 10.
	Fetchers int
	// MaxAttempts bounds retries of one call on 429/403 rate limits/5xx.
	// Default 7.
	MaxAttempts int
	// BaseBackoff is the first retry's maximum wait (full jitter, doubling).
	// Default 500 ms.
	BaseBackoff time.Duration
}

// Dialer opens mailboxes for the syncer. It keeps one rate limiter per
// mailbox, so every call for a mailbox in this process shares its budget.
type Dialer struct {
	o        DialerOptions
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewDialer builds a Dialer.
func NewDialer(o DialerOptions) *Dialer {
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.UnitsPerSecond <= 0 {
		o.UnitsPerSecond = 150
	}
	if o.Fetchers <= 0 {
		o.Fetchers = 10
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 7
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 500 * time.Millisecond
	}
	return &Dialer{o: o, limiters: map[string]*rate.Limiter{}}
}

var _ syncer.Dialer = (*Dialer)(nil)

// Mailbox implements syncer.Dialer.
func (d *Dialer) Mailbox(ctx context.Context, address string) (syncer.Gmail, error) {
	return d.open(ctx, address)
}

// open builds the Gmail API of one mailbox with its token source and its
// share of the quota.
func (d *Dialer) open(ctx context.Context, address string) (*mailbox, error) {
	if d.o.Tokens == nil {
		return nil, &inbox.MailboxError{Problem: inbox.ProblemNoAccess, Err: errors.New("no mailbox token sources configured")}
	}
	ts, err := d.o.Tokens.TokenSource(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("token source for %s: %w", address, err)
	}
	client := &http.Client{Transport: &oauth2.Transport{Source: ts, Base: d.o.Transport}}
	opts := []option.ClientOption{option.WithHTTPClient(client)}
	if d.o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(d.o.Endpoint))
	}
	svc, err := gmail.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gmail client: %w", err)
	}
	d.mu.Lock()
	lim, ok := d.limiters[address]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(d.o.UnitsPerSecond), maxCallUnits)
		d.limiters[address] = lim
	}
	d.mu.Unlock()
	return &mailbox{svc: svc, address: address, lim: lim, o: d.o}, nil
}

// mailbox is one mailbox's Gmail API.
type mailbox struct {
	svc     *gmail.Service
	address string
	lim     *rate.Limiter
	o       DialerOptions
}

// Quota units of the calls made here (Gmail API usage limits).
const (
	unitsGet          = 5
	unitsList         = 5
	unitsHistory      = 2
	unitsLabelsList   = 1
	unitsLabelsCreate = 5
	unitsLabelsPatch  = 5
	unitsLabelsDelete = 5
	unitsThreadModify = 10
	unitsModify       = 5
	unitsBatchModify  = 50
	unitsWatch        = 100
	unitsStop         = 1
	unitsProfile      = 1
	unitsSendAsGet    = 1
	// maxCallUnits is the most one call costs (users.watch).
	maxCallUnits = unitsWatch
)

// call runs one API call within the mailbox's quota, retrying rate limits,
// server errors and transport failures with exponential backoff and full
// jitter.
func (m *mailbox) call(ctx context.Context, units int, f func() error) error {
	var err error
	for attempt := 0; attempt < m.o.MaxAttempts; attempt++ {
		if attempt > 0 {
			wait := m.o.BaseBackoff << (attempt - 1)
			wait = time.Duration(rand.Int64N(int64(wait) + 1))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		if werr := m.lim.WaitN(ctx, units); werr != nil {
			return werr
		}
		if err = f(); err == nil || !retryable(err) {
			if unauthorized(err) {
				if f, ok := m.o.Tokens.(forgetter); ok {
					f.Forget(m.address)
				}
			}
			return refusal(err)
		}
	}
	return fmt.Errorf("after %d attempts: %w", m.o.MaxAttempts, err)
}

// retryable reports whether a call failed for a reason that passes: Gmail's
// rate limits (429, 403 rateLimitExceeded/userRateLimitExceeded), server
// errors, or the network.
func retryable(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		if gerr.Code == http.StatusTooManyRequests || gerr.Code >= 500 {
			return true
		}
		if gerr.Code == http.StatusForbidden {
			for _, e := range gerr.Errors {
				if e.Reason == "rateLimitExceeded" || e.Reason == "userRateLimitExceeded" {
					return true
				}
			}
		}
		return false
	}
	// A token endpoint refusing the credentials (4xx) does not pass.
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.Response != nil && rerr.Response.StatusCode < 500 {
		return false
	}
	var uerr *url.Error
	return errors.As(err, &uerr) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// refusal gives Gmail's refusals of the mailbox their inbox.MailboxProblem:
// 401 (the access token was refused) and 403 (access denied; rate limits,
// also 403, are retried before). Other errors come back as they are.
func refusal(err error) error {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return err
	}
	switch gerr.Code {
	case http.StatusUnauthorized:
		return &inbox.MailboxError{Problem: inbox.ProblemGmailUnauthorized, Err: err}
	case http.StatusForbidden:
		return &inbox.MailboxError{Problem: inbox.ProblemGmailDenied, Err: err}
	}
	return err
}

// forgetter is implemented by token sources that cache credentials and can
// drop them (mailboxauth.Provider).
type forgetter interface{ Forget(mailbox string) }

// unauthorized reports a 401 from Gmail: the credentials were refused.
func unauthorized(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusUnauthorized
}

func notFound(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusNotFound
}

func (m *mailbox) Watch(ctx context.Context, topic string) (uint64, time.Time, error) {
	var r *gmail.WatchResponse
	err := m.call(ctx, unitsWatch, func() (err error) {
		r, err = m.svc.Users.Watch("me", &gmail.WatchRequest{TopicName: topic}).Context(ctx).Do()
		return err
	})
	if err != nil {
		// Gmail refuses a watch whose topic is malformed (400), missing
		// (404) or does not let Gmail publish (403).
		var gerr *googleapi.Error
		if errors.As(err, &gerr) && (gerr.Code == http.StatusBadRequest || gerr.Code == http.StatusForbidden || gerr.Code == http.StatusNotFound) {
			err = &inbox.MailboxError{Problem: inbox.ProblemWatchRefused, Err: err}
		}
		return 0, time.Time{}, fmt.Errorf("users.watch: %w", err)
	}
	return r.HistoryId, time.UnixMilli(r.Expiration).UTC(), nil
}

func (m *mailbox) Stop(ctx context.Context) error {
	err := m.call(ctx, unitsStop, func() error { return m.svc.Users.Stop("me").Context(ctx).Do() })
	if err != nil {
		return fmt.Errorf("users.stop: %w", err)
	}
	return nil
}

func (m *mailbox) HistoryID(ctx context.Context) (uint64, error) {
	var p *gmail.Profile
	err := m.call(ctx, unitsProfile, func() (err error) {
		p, err = m.svc.Users.GetProfile("me").Context(ctx).Do()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("users.getProfile: %w", err)
	}
	return p.HistoryId, nil
}

func (m *mailbox) History(ctx context.Context, start uint64, page func([]syncer.HistoryRecord) error) (uint64, error) {
	token := ""
	for {
		var r *gmail.ListHistoryResponse
		err := m.call(ctx, unitsHistory, func() (err error) {
			call := m.svc.Users.History.List("me").StartHistoryId(start).
				HistoryTypes("messageAdded", "labelAdded", "labelRemoved").MaxResults(500).Context(ctx)
			if token != "" {
				call = call.PageToken(token)
			}
			r, err = call.Do()
			return err
		})
		if notFound(err) {
			return 0, fmt.Errorf("history.list from %d: %w", start, syncer.ErrHistoryGone)
		}
		if err != nil {
			return 0, fmt.Errorf("history.list from %d: %w", start, err)
		}
		recs := make([]syncer.HistoryRecord, 0, len(r.History))
		for _, h := range r.History {
			if h == nil {
				continue
			}
			rec := syncer.HistoryRecord{ID: h.Id}
			for _, a := range h.MessagesAdded {
				if a != nil && a.Message != nil {
					rec.Added = append(rec.Added, ref(a.Message))
				}
			}
			for _, a := range h.LabelsAdded {
				if a != nil && a.Message != nil {
					rec.LabelsAdded = append(rec.LabelsAdded, syncer.LabelChange{Message: ref(a.Message), LabelIDs: a.LabelIds})
				}
			}
			for _, a := range h.LabelsRemoved {
				if a != nil && a.Message != nil {
					rec.LabelsRemoved = append(rec.LabelsRemoved, syncer.LabelChange{Message: ref(a.Message), LabelIDs: a.LabelIds})
				}
			}
			recs = append(recs, rec)
		}
		if err := page(recs); err != nil {
			return 0, err
		}
		if r.NextPageToken == "" {
			return r.HistoryId, nil
		}
		token = r.NextPageToken
	}
}

func ref(m *gmail.Message) syncer.MessageRef {
	return syncer.MessageRef{ID: m.Id, ThreadID: m.ThreadId, LabelIDs: m.LabelIds}
}

func (m *mailbox) Messages(ctx context.Context, ids []string) ([]syncer.Message, error) {
	out := make([]*syncer.Message, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, m.o.Fetchers)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var msg *gmail.Message
			err := m.call(ctx, unitsGet, func() (err error) {
				msg, err = m.svc.Users.Messages.Get("me", id).Format("metadata").MetadataHeaders(metadataHeaders...).Context(ctx).Do()
				return err
			})
			switch {
			case notFound(err):
			case err != nil:
				errs[i] = fmt.Errorf("messages.get %s: %w", id, err)
			default:
				out[i] = &syncer.Message{MessageRef: ref(msg), Headers: headersOf(msg)}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	msgs := make([]syncer.Message, 0, len(ids))
	for _, m := range out {
		if m != nil {
			msgs = append(msgs, *m)
		}
	}
	return msgs, nil
}

func (m *mailbox) ListMessages(ctx context.Context, q string, page func([]syncer.MessageRef) error) error {
	token := ""
	for {
		var r *gmail.ListMessagesResponse
		err := m.call(ctx, unitsList, func() (err error) {
			call := m.svc.Users.Messages.List("me").Q(q).MaxResults(500).Context(ctx)
			if token != "" {
				call = call.PageToken(token)
			}
			r, err = call.Do()
			return err
		})
		if err != nil {
			return fmt.Errorf("messages.list: %w", err)
		}
		refs := make([]syncer.MessageRef, 0, len(r.Messages))
		for _, msg := range r.Messages {
			if msg != nil {
				refs = append(refs, ref(msg))
			}
		}
		if err := page(refs); err != nil {
			return err
		}
		if r.NextPageToken == "" {
			return nil
		}
		token = r.NextPageToken
	}
}

func (m *mailbox) Labels(ctx context.Context, names []string) (map[string]string, error) {
	have, err := m.listLabels(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		if id, ok := have[n]; ok {
			out[n] = id
			continue
		}
		var l *gmail.Label
		err := m.call(ctx, unitsLabelsCreate, func() (err error) {
			l, err = m.svc.Users.Labels.Create("me", &gmail.Label{
				Name: n, LabelListVisibility: "labelShow", MessageListVisibility: "show",
			}).Context(ctx).Do()
			return err
		})
		var gerr *googleapi.Error
		if errors.As(err, &gerr) && gerr.Code == http.StatusConflict {
			// Created meanwhile (another instance, or a user).
			if have, err = m.listLabels(ctx); err != nil {
				return nil, err
			}
			if id, ok := have[n]; ok {
				out[n] = id
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("labels.create %q: %w", n, err)
		}
		out[n] = l.Id
	}
	return out, nil
}

func (m *mailbox) RenameLabel(ctx context.Context, id, name string) error {
	err := m.call(ctx, unitsLabelsPatch, func() error {
		_, err := m.svc.Users.Labels.Patch("me", id, &gmail.Label{Name: name}).Context(ctx).Do()
		return err
	})
	var gerr *googleapi.Error
	switch {
	case notFound(err):
		return fmt.Errorf("labels.patch %s: %w", id, syncer.ErrLabelGone)
	case errors.As(err, &gerr) && gerr.Code == http.StatusConflict:
		return fmt.Errorf("labels.patch %s to %q: %w", id, name, syncer.ErrLabelTaken)
	case err != nil:
		return fmt.Errorf("labels.patch %s: %w", id, err)
	}
	return nil
}

func (m *mailbox) LabelMessages(ctx context.Context, id string) (int64, error) {
	var l *gmail.Label
	err := m.call(ctx, unitsLabelsList, func() (err error) {
		l, err = m.svc.Users.Labels.Get("me", id).Context(ctx).Do()
		return err
	})
	if notFound(err) {
		return 0, fmt.Errorf("labels.get %s: %w", id, syncer.ErrLabelGone)
	}
	if err != nil {
		return 0, fmt.Errorf("labels.get %s: %w", id, err)
	}
	return l.MessagesTotal, nil
}

func (m *mailbox) DeleteLabel(ctx context.Context, id string) error {
	err := m.call(ctx, unitsLabelsDelete, func() error {
		return m.svc.Users.Labels.Delete("me", id).Context(ctx).Do()
	})
	if err != nil && !notFound(err) {
		return fmt.Errorf("labels.delete %s: %w", id, err)
	}
	return nil
}

func (m *mailbox) listLabels(ctx context.Context) (map[string]string, error) {
	var r *gmail.ListLabelsResponse
	err := m.call(ctx, unitsLabelsList, func() (err error) {
		r, err = m.svc.Users.Labels.List("me").Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("labels.list: %w", err)
	}
	have := map[string]string{}
	for _, l := range r.Labels {
		if l != nil {
			have[l.Name] = l.Id
		}
	}
	return have, nil
}

func (m *mailbox) ModifyThread(ctx context.Context, threadID string, add, remove []string) error {
	err := m.call(ctx, unitsThreadModify, func() error {
		_, err := m.svc.Users.Threads.Modify("me", threadID, &gmail.ModifyThreadRequest{AddLabelIds: add, RemoveLabelIds: remove}).Context(ctx).Do()
		return err
	})
	if notFound(err) {
		return nil // the thread is gone from this mailbox
	}
	if err != nil {
		return fmt.Errorf("threads.modify %s: %w", threadID, err)
	}
	return nil
}

// ModifyMessages labels a few messages with one messages.modify each and
// more with one messages.batchModify, whichever costs fewer quota units: a
// lone new mail costs 5 units to label, not 50. A message gone meanwhile is
// skipped by messages.modify; batchModify refuses the whole batch (404).
func (m *mailbox) ModifyMessages(ctx context.Context, ids []string, add, remove []string) error {
	if len(ids)*unitsModify < unitsBatchModify {
		for _, id := range ids {
			err := m.call(ctx, unitsModify, func() error {
				_, err := m.svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{AddLabelIds: add, RemoveLabelIds: remove}).Context(ctx).Do()
				return err
			})
			if notFound(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("messages.modify %s: %w", id, err)
			}
		}
		return nil
	}
	err := m.call(ctx, unitsBatchModify, func() error {
		return m.svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: ids, AddLabelIds: add, RemoveLabelIds: remove}).Context(ctx).Do()
	})
	if err != nil {
		return fmt.Errorf("messages.batchModify (%d): %w", len(ids), err)
	}
	return nil
}
