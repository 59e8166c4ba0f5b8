package gmailclient

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"strings"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/inbox"
)

// Content implements syncer.Gmail with one users.messages.get
// (format=full, 5 quota units, the same as the metadata read): the text of
// the body and whether any part is a file. The syncer asks for it only
// for a customer's new mail in an inbox whose rules test the body or
// attachments (inbox.Workflow.NeedsContent). A message gone meanwhile is
// an empty Content.
func (m *mailbox) Content(ctx context.Context, id string) (inbox.Content, error) {
	var msg *gmail.Message
	err := m.call(ctx, unitsGet, func() (err error) {
		msg, err = m.svc.Users.Messages.Get("me", id).Format("full").Context(ctx).Do()
		return err
	})
	if notFound(err) {
		return inbox.Content{}, nil
	}
	if err != nil {
		return inbox.Content{}, fmt.Errorf("messages.get %s (full): %w", id, err)
	}
	return contentOf(msg.Payload), nil
}

// contentOf walks a MIME tree: the text/plain parts' text (the text/html
// parts', stripped of tags, when there is no plain text), and whether a
// part carries a file name.
func contentOf(p *gmail.MessagePart) inbox.Content {
	var plain, htm strings.Builder
	var c inbox.Content
	var walk func(p *gmail.MessagePart)
	walk = func(p *gmail.MessagePart) {
		if p == nil {
			return
		}
		if p.Filename != "" {
			c.Attachment = true
			return
		}
		if p.Body != nil && p.Body.Data != "" {
			switch strings.ToLower(strings.TrimSpace(strings.Split(p.MimeType, ";")[0])) {
			case "text/plain":
				plain.WriteString(decodePart(p.Body.Data))
				plain.WriteByte('\n')
			case "text/html":
				htm.WriteString(decodePart(p.Body.Data))
				htm.WriteByte('\n')
			}
		}
		for _, ch := range p.Parts {
			walk(ch)
		}
	}
	walk(p)
	text := plain.String()
	if strings.TrimSpace(text) == "" {
		text = html.UnescapeString(tags.ReplaceAllString(htm.String(), " "))
	}
	if len(text) > inbox.MaxContentText {
		text = text[:inbox.MaxContentText]
	}
	c.Text = strings.ToValidUTF8(text, "")
	return c
}

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

// decodePart decodes a part's body.data (base64url, with or without
// padding); undecodable data is no text.
func decodePart(data string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(data, "="))
	if err != nil {
		return ""
	}
	return string(b)
}
