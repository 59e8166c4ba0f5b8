package addontest

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/postfach/postfach/addon"
)

// Tokens are the tokens carried by an event's authorizationEventObject.
type Tokens struct {
	// System is the system ID token (also sent as the Authorization header
	// by NewRequest callers).
	System string
	// User is the user's ID token.
	User string
	// OAuth is the user's OAuth access token (e.g. from AccessToken).
	OAuth string
}

// defaultScopes are the authorized scopes of a typical Gmail add-on.
var defaultScopes = []string{
	"https://www.googleapis.com/auth/gmail.addons.execute",
	"https://www.googleapis.com/auth/gmail.addons.current.message.readonly",
	"https://www.googleapis.com/auth/gmail.addons.current.action.compose",
	"https://www.googleapis.com/auth/userinfo.email",
	"https://www.googleapis.com/auth/script.locale",
}

// HomepageEvent builds the event of a Gmail homepage trigger (web, en-US,
// America/Los_Angeles, no gmail object).
func HomepageEvent(t Tokens) *addon.Event {
	return &addon.Event{
		Common: addon.CommonEvent{
			HostApp:    "GMAIL",
			Platform:   "WEB",
			UserLocale: "en-US",
			TimeZone:   &addon.TimeZone{ID: "America/Los_Angeles", Offset: -28800000},
		},
		Auth: addon.AuthorizationEvent{
			UserOAuthToken:   t.OAuth,
			UserIDToken:      t.User,
			SystemIDToken:    t.System,
			AuthorizedScopes: append([]string(nil), defaultScopes...),
		},
	}
}

// MessageEvent builds the event of a Gmail contextual (message open)
// trigger.
func MessageEvent(t Tokens, messageID, threadID, gmailAccessToken string) *addon.Event {
	ev := HomepageEvent(t)
	ev.Gmail = &addon.GmailEvent{MessageID: messageID, ThreadID: threadID, AccessToken: gmailAccessToken}
	return ev
}

// ComposeEvent builds the event of a Gmail compose trigger with the draft's
// recipients (as sent with draftAccess METADATA).
func ComposeEvent(t Tokens, to, cc, bcc []string) *addon.Event {
	ev := HomepageEvent(t)
	ev.Gmail = &addon.GmailEvent{ToRecipients: to, CcRecipients: cc, BccRecipients: bcc}
	return ev
}

// ActionEvent builds the event of a widget action with the clicked
// widget's parameters and the card's string form inputs (name → values).
// Set Gmail on the result for an action on a message card.
func ActionEvent(t Tokens, params map[string]string, form map[string][]string) *addon.Event {
	ev := HomepageEvent(t)
	if len(params) > 0 {
		ev.Common.Parameters = make(map[string]string, len(params))
		for k, v := range params {
			ev.Common.Parameters[k] = v
		}
	}
	if len(form) > 0 {
		ev.Common.FormInputs = make(map[string]addon.FormInput, len(form))
		for k, v := range form {
			ev.Common.FormInputs[k] = addon.FormInput{
				StringInputs: &addon.StringInputs{Value: append([]string{}, v...)},
			}
		}
	}
	return ev
}

// NewRequest returns a client request carrying ev as its JSON body (no
// body if ev is nil) and, unless systemToken is empty, the header
// "Authorization: Bearer systemToken". It works both with an
// httptest.Server client and with echo.ServeHTTP. Like
// httptest.NewRequest, it panics if url is invalid or ev cannot be
// encoded.
func NewRequest(method, url string, ev *addon.Event, systemToken string) *http.Request {
	var body io.Reader
	if ev != nil {
		b, err := ev.JSON()
		if err != nil {
			panic("addontest: " + err.Error())
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		panic("addontest: " + err.Error())
	}
	if ev != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if systemToken != "" {
		req.Header.Set("Authorization", "Bearer "+systemToken)
	}
	return req
}
