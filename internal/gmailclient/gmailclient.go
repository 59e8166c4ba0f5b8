// Package gmailclient reads Gmail through the official gmail/v1 client. It is
// the adapter behind desk.MessageReader: it reads the headers of the message
// open in the sidebar with the user's add-on OAuth token and the per-message
// X-Goog-Gmail-Access-Token. The API base URL is configurable so that the
// same code talks to Google in production and to the built-in simulator in
// development and tests.
package gmailclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/internal/desk"
)

// Reader reads message headers for the sidebar. It is safe for concurrent
// use.
//
// Every sidebar request carries its own user's OAuth token, so a client
// bound to a token (an oauth2.Transport) would be good for one request
// only. Reader instead keeps one gmail.Service over one http.Client for
// all users, built once, and sets each request's token on the call itself
// (the generated calls' Header): the service, its client and the
// transport's connection pool are shared, and nothing is cached per token,
// so there is nothing to bound or to expire.
type Reader struct {
	svc *gmail.Service
	err error // from building svc; returned by every read
}

// Options configure a Reader.
type Options struct {
	// Endpoint is the API base URL ("https://gmail.googleapis.com/" by
	// default); the client appends "gmail/v1/…".
	Endpoint string
	// Transport carries the requests; http.DefaultTransport by default.
	// It must not authorize requests itself: each read sets the user's
	// Authorization header.
	Transport http.RoundTripper
}

// New builds a Reader.
func New(o Options) *Reader {
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	opts := []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: base})}
	if o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(o.Endpoint))
	}
	// With WithHTTPClient the client is taken as it is: ctx is not kept
	// and nothing is dialled here.
	svc, err := gmail.NewService(context.Background(), opts...)
	if err != nil {
		err = fmt.Errorf("gmail client: %w", err)
	}
	return &Reader{svc: svc, err: err}
}

var _ desk.MessageReader = (*Reader)(nil)

// metadataHeaders are the only headers Postfach asks Gmail for.
var metadataHeaders = []string{
	"Message-ID", "In-Reply-To", "References", "Subject", "From", "To", "Cc",
	"Delivered-To", "X-Original-To", "List-Id", "Date",
}

// MessageHeaders implements desk.MessageReader with users.messages.get
// (format=metadata).
func (r *Reader) MessageHeaders(ctx context.Context, access desk.GmailAccess, messageID string) (desk.MessageHeaders, error) {
	if r.err != nil {
		return desk.MessageHeaders{}, r.err
	}
	if access.OAuthToken == "" {
		return desk.MessageHeaders{}, fmt.Errorf("%w: the request carries no Gmail token", desk.ErrMessageUnavailable)
	}
	call := r.svc.Users.Messages.Get("me", desk.APIMessageID(messageID)).Format("metadata").MetadataHeaders(metadataHeaders...).Context(ctx)
	call.Header().Set("Authorization", "Bearer "+access.OAuthToken)
	if access.MessageToken != "" {
		call.Header().Set("X-Goog-Gmail-Access-Token", access.MessageToken)
	}
	m, err := call.Do()
	if err != nil {
		var gerr *googleapi.Error
		if errors.As(err, &gerr) && gerr.Code >= 400 && gerr.Code < 500 {
			return desk.MessageHeaders{}, fmt.Errorf("%w: gmail messages.get %s: %v", desk.ErrMessageUnavailable, messageID, gerr.Code)
		}
		return desk.MessageHeaders{}, fmt.Errorf("gmail messages.get %s: %w", messageID, err)
	}
	return headersOf(m), nil
}

// headersOf takes the headers as Gmail returns them. Gmail has decoded RFC
// 2047 encoded words in payload.headers already, so nothing is decoded
// again here: see inbox.Headers for the evidence and why a second decoding
// broke the inbox.
func headersOf(m *gmail.Message) desk.MessageHeaders {
	var h desk.MessageHeaders
	if m.Payload == nil {
		return h
	}
	for _, hd := range m.Payload.Headers {
		if hd == nil {
			continue
		}
		v := hd.Value
		switch strings.ToLower(hd.Name) {
		case "message-id":
			h.MessageID = v
		case "in-reply-to":
			h.InReplyTo = v
		case "references":
			h.References = v
		case "subject":
			h.Subject = v
		case "from":
			h.From = v
		case "to":
			h.To = v
		case "cc":
			h.Cc = v
		case "delivered-to":
			h.DeliveredTo = append(h.DeliveredTo, v)
		case "x-original-to":
			h.XOriginalTo = v
		case "list-id":
			h.ListID = v
		case "date":
			if t, err := mail.ParseDate(v); err == nil {
				h.Date = t.UTC()
			}
		}
	}
	if h.Date.IsZero() && m.InternalDate > 0 {
		h.Date = time.UnixMilli(m.InternalDate).UTC()
	}
	return h
}
