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
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/postfach/postfach/internal/desk"
)

// Reader reads message headers for the sidebar.
type Reader struct {
	endpoint string
	base     http.RoundTripper
}

// Options configure a Reader.
type Options struct {
	// Endpoint is the API base URL ("https://gmail.googleapis.com/" by
	// default); the client appends "gmail/v1/…".
	Endpoint string
	// Transport carries the requests; http.DefaultTransport by default.
	Transport http.RoundTripper
}

// New builds a Reader.
func New(o Options) *Reader {
	r := &Reader{endpoint: o.Endpoint, base: o.Transport}
	if r.base == nil {
		r.base = http.DefaultTransport
	}
	return r
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
	if access.OAuthToken == "" {
		return desk.MessageHeaders{}, fmt.Errorf("%w: the request carries no Gmail token", desk.ErrMessageUnavailable)
	}
	client := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access.OAuthToken, TokenType: "Bearer"}),
		Base:   r.base,
	}}
	opts := []option.ClientOption{option.WithHTTPClient(client)}
	if r.endpoint != "" {
		opts = append(opts, option.WithEndpoint(r.endpoint))
	}
	svc, err := gmail.NewService(ctx, opts...)
	if err != nil {
		return desk.MessageHeaders{}, fmt.Errorf("gmail client: %w", err)
	}
	call := svc.Users.Messages.Get("me", APIMessageID(messageID)).Format("metadata").MetadataHeaders(metadataHeaders...).Context(ctx)
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

// APIMessageID turns the message id of an add-on event into the id the Gmail
// API takes. The add-on guide shows ids such as "msg-f:1788123456789012345"
// and passes them to the API unchanged; the API's own ids are hex. We keep
// ids as they are except that "msg-f:<decimal>" is converted to hex, the
// commonly assumed mapping (unverified: see addon-protocol.md §1.5).
func APIMessageID(id string) string {
	if rest, ok := strings.CutPrefix(id, "msg-f:"); ok {
		if n, err := strconv.ParseUint(rest, 10, 64); err == nil {
			return strconv.FormatUint(n, 16)
		}
	}
	return id
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
