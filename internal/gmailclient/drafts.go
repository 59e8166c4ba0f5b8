package gmailclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"strings"

	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/postfach/postfach/internal/desk"
)

var _ desk.DraftWriter = (*Reader)(nil)

// CreateDraft implements desk.DraftWriter with users.drafts.create in the
// caller's mailbox, authorized like MessageHeaders: the user's add-on
// OAuth token and the event's X-Goog-Gmail-Access-Token. The deployment
// needs the scope gmail.addons.current.action.compose for it.
func (r *Reader) CreateDraft(ctx context.Context, access desk.GmailAccess, d desk.Draft) (desk.CreatedDraft, error) {
	if r.err != nil {
		return desk.CreatedDraft{}, r.err
	}
	if access.OAuthToken == "" {
		return desk.CreatedDraft{}, fmt.Errorf("%w: the request carries no Gmail token", desk.ErrMessageUnavailable)
	}
	msg := &gmail.Message{Raw: base64.URLEncoding.EncodeToString(draftRaw(d)), ThreadId: d.ThreadID}
	call := r.svc.Users.Drafts.Create("me", &gmail.Draft{Message: msg}).Context(ctx)
	call.Header().Set("Authorization", "Bearer "+access.OAuthToken)
	if access.MessageToken != "" {
		call.Header().Set("X-Goog-Gmail-Access-Token", access.MessageToken)
	}
	got, err := call.Do()
	if err != nil {
		var gerr *googleapi.Error
		if errors.As(err, &gerr) && gerr.Code >= 400 && gerr.Code < 500 {
			return desk.CreatedDraft{}, fmt.Errorf("%w: gmail drafts.create: %v", desk.ErrMessageUnavailable, gerr.Code)
		}
		return desk.CreatedDraft{}, fmt.Errorf("gmail drafts.create: %w", err)
	}
	out := desk.CreatedDraft{ID: got.Id}
	if got.Message != nil {
		out.ThreadID = got.Message.ThreadId
	}
	return out, nil
}

// draftRaw is the RFC 5322 text of a reply draft with an empty body. Header
// values come from the store and Gmail, never raw user input, but line
// breaks are dropped all the same so no value can add a header.
func draftRaw(d desk.Draft) []byte {
	clean := func(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
	var b strings.Builder
	h := func(name, v string) {
		if v = clean(v); v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	h("From", d.From)
	h("To", d.To)
	h("Subject", mime.QEncoding.Encode("utf-8", clean(d.Subject)))
	h("In-Reply-To", d.InReplyTo)
	h("References", d.References)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	b.WriteString("\r\n")
	return []byte(b.String())
}

// DraftExists implements desk.DraftWriter with users.drafts.get (format
// minimal) in the caller's mailbox, authorized like CreateDraft. Gmail's
// 404 (sent or discarded) is false; other refusals are errors wrapping
// desk.ErrMessageUnavailable.
func (r *Reader) DraftExists(ctx context.Context, access desk.GmailAccess, id string) (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	if access.OAuthToken == "" {
		return false, fmt.Errorf("%w: the request carries no Gmail token", desk.ErrMessageUnavailable)
	}
	call := r.svc.Users.Drafts.Get("me", id).Format("minimal").Context(ctx)
	call.Header().Set("Authorization", "Bearer "+access.OAuthToken)
	if access.MessageToken != "" {
		call.Header().Set("X-Goog-Gmail-Access-Token", access.MessageToken)
	}
	_, err := call.Do()
	var gerr *googleapi.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &gerr) && gerr.Code == 404:
		return false, nil
	case errors.As(err, &gerr) && gerr.Code >= 400 && gerr.Code < 500:
		return false, fmt.Errorf("%w: gmail drafts.get: %v", desk.ErrMessageUnavailable, gerr.Code)
	}
	return false, fmt.Errorf("gmail drafts.get: %w", err)
}
