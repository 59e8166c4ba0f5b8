package addon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Event is the JSON event object Google POSTs to every add-on endpoint
// (homepage, contextual and compose triggers, widget actions).
//
// Only the Gmail host object is modelled; the objects of other hosts
// (calendar, drive, …) are ignored when decoding.
type Event struct {
	// Common holds the host-independent part ("commonEventObject").
	Common CommonEvent `json:"commonEventObject"`
	// Auth holds the tokens sent to HTTP endpoints ("authorizationEventObject").
	Auth AuthorizationEvent `json:"authorizationEventObject"`
	// Gmail is set when the host is Gmail and the request has message or
	// compose context. It is nil for homepage requests.
	Gmail *GmailEvent `json:"gmail,omitempty"`
}

// CommonEvent is the "commonEventObject" of an Event.
type CommonEvent struct {
	// HostApp is the host application, e.g. "GMAIL".
	HostApp string `json:"hostApp,omitempty"`
	// Platform is where the event originates: "WEB", "IOS" or "ANDROID".
	Platform string `json:"platform,omitempty"`
	// UserLocale is the user's locale, e.g. "en-US". It is only sent when the
	// deployment sets useLocaleFromApp and requests the script.locale scope.
	UserLocale string `json:"userLocale,omitempty"`
	// TimeZone is the user's time zone; same gating as UserLocale. Nil when
	// absent.
	TimeZone *TimeZone `json:"timeZone,omitempty"`
	// FormInputs maps a widget name to the values of that input widget on
	// the card the user interacted with. Absent keys mean "no value".
	FormInputs map[string]FormInput `json:"formInputs,omitempty"`
	// Parameters are the action parameters of the clicked widget.
	Parameters map[string]string `json:"parameters,omitempty"`
	// InvokedFunction is documented for Apps Script; for HTTP endpoints it is
	// not documented what (if anything) is sent. Route on the URL instead.
	InvokedFunction string `json:"invokedFunction,omitempty"`
}

// TimeZone is the user's time zone as sent by the host.
type TimeZone struct {
	// ID is the IANA time zone name, e.g. "America/New_York".
	ID string `json:"id"`
	// Offset is the offset from UTC in milliseconds.
	Offset Int64 `json:"offset"`
}

// FormInput holds the value(s) of one input widget. Exactly one field is
// normally set, depending on the widget type.
type FormInput struct {
	// StringInputs is set for text inputs, selection inputs and switches.
	StringInputs *StringInputs `json:"stringInputs,omitempty"`
	// DateInput is set for DATE_ONLY date-time pickers.
	DateInput *DateInput `json:"dateInput,omitempty"`
	// DateTimeInput is set for DATE_AND_TIME date-time pickers.
	DateTimeInput *DateTimeInput `json:"dateTimeInput,omitempty"`
	// TimeInput is set for TIME_ONLY date-time pickers.
	TimeInput *TimeInput `json:"timeInput,omitempty"`
}

// StringInputs is the value list of a text or selection input. Single-valued
// widgets send a one-element (or empty) list.
type StringInputs struct {
	// Value holds the entered text or the selected item values.
	Value []string `json:"value"`
}

// DateInput is the value of a DATE_ONLY date-time picker.
type DateInput struct {
	// MsSinceEpoch is the selected date in milliseconds since the Unix epoch.
	MsSinceEpoch Int64 `json:"msSinceEpoch"`
}

// Time returns the selected date as a UTC time.
func (d DateInput) Time() time.Time { return time.UnixMilli(int64(d.MsSinceEpoch)).UTC() }

// DateTimeInput is the value of a DATE_AND_TIME date-time picker.
type DateTimeInput struct {
	// MsSinceEpoch is the selected instant in milliseconds since the Unix epoch.
	MsSinceEpoch Int64 `json:"msSinceEpoch"`
	// HasDate reports whether the value includes a date.
	HasDate bool `json:"hasDate"`
	// HasTime reports whether the value includes a time.
	HasTime bool `json:"hasTime"`
}

// Time returns the selected instant as a UTC time.
func (d DateTimeInput) Time() time.Time { return time.UnixMilli(int64(d.MsSinceEpoch)).UTC() }

// TimeInput is the value of a TIME_ONLY date-time picker.
type TimeInput struct {
	// Hours is the hour of day, 0-23.
	Hours Int64 `json:"hours"`
	// Minutes is the minute of the hour, 0-59.
	Minutes Int64 `json:"minutes"`
}

// AuthorizationEvent is the "authorizationEventObject" of an Event. It is only
// sent to HTTP endpoints.
type AuthorizationEvent struct {
	// UserOAuthToken is the user's OAuth access token for the granted scopes.
	// Decoding also accepts the spelling "userOauthToken" found in Google's
	// prose.
	UserOAuthToken string `json:"userOAuthToken,omitempty"`
	// UserIDToken is the user's Google ID token (needs the userinfo.email
	// scope). Verify it with Verifier.VerifyUserIDToken before use.
	UserIDToken string `json:"userIdToken,omitempty"`
	// SystemIDToken is an ID token of the add-on's per-project service
	// account; it is the same token as in the Authorization header.
	SystemIDToken string `json:"systemIdToken,omitempty"`
	// AuthorizedScopes lists the scopes the user granted (granular consent).
	AuthorizedScopes []string `json:"authorizedScopes,omitempty"`
}

// UnmarshalJSON decodes the object and accepts both "userOAuthToken" and
// "userOauthToken"; the former wins if both are non-empty.
func (a *AuthorizationEvent) UnmarshalJSON(b []byte) error {
	type plain AuthorizationEvent
	var aux struct {
		plain
		AltOAuthToken string `json:"userOauthToken"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*a = AuthorizationEvent(aux.plain)
	if a.UserOAuthToken == "" {
		a.UserOAuthToken = aux.AltOAuthToken
	}
	return nil
}

// GmailEvent is the "gmail" host object of an Event.
type GmailEvent struct {
	// MessageID is the ID of the open message. Treat it as opaque: Google's
	// example uses the "msg-f:<decimal>" form rather than the hex Gmail API ID.
	MessageID string `json:"messageId,omitempty"`
	// ThreadID is the ID of the open thread; opaque like MessageID.
	ThreadID string `json:"threadId,omitempty"`
	// AccessToken is the per-message token to send in the
	// X-Goog-Gmail-Access-Token header when calling the Gmail API.
	AccessToken string `json:"accessToken,omitempty"`
	// ToRecipients are the draft's "To:" addresses (compose trigger only,
	// with draftAccess METADATA).
	ToRecipients []string `json:"toRecipients,omitempty"`
	// CcRecipients are the draft's "Cc:" addresses (compose trigger only).
	CcRecipients []string `json:"ccRecipients,omitempty"`
	// BccRecipients are the draft's "Bcc:" addresses (compose trigger only).
	BccRecipients []string `json:"bccRecipients,omitempty"`
}

// Int64 is an int64 that decodes tolerantly: from a JSON integer (123), a
// JSON number in float or exponent form (-2.88E7), or a string holding
// either ("1767225600000"). Fractional values are truncated toward zero;
// null and "" leave the value unchanged. It encodes as a JSON integer.
type Int64 int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("decode int64: %w", err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
	}
	v, err := parseInt64(s)
	if err != nil {
		return err
	}
	*n = Int64(v)
	return nil
}

// parseInt64 parses an integer, falling back to float syntax; it rejects
// NaN, infinities and values outside the int64 range.
func parseInt64(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("decode int64: invalid number %.40q", s)
	}
	f = math.Trunc(f)
	// float64(math.MaxInt64) rounds up to 2^63, hence >=.
	if f >= math.MaxInt64 || f < math.MinInt64 {
		return 0, fmt.Errorf("decode int64: %.40q out of range", s)
	}
	return int64(f), nil
}

// errNotObject is returned by ParseEvent when the body is not a JSON object.
var errNotObject = errors.New("body is not a JSON object")

// ParseEvent decodes a request body into an Event. It rejects empty bodies,
// anything that is not a single JSON object, and known fields of the wrong
// type; unknown fields are ignored.
func ParseEvent(b []byte) (*Event, error) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, errors.New("parse event: empty body")
	}
	if t[0] != '{' {
		return nil, fmt.Errorf("parse event: %w", errNotObject)
	}
	var ev Event
	if err := json.Unmarshal(t, &ev); err != nil {
		return nil, fmt.Errorf("parse event: %w", err)
	}
	return &ev, nil
}

// JSON encodes the event the way Google sends it. It is mainly useful for
// building requests in tests and local simulators.
func (e *Event) JSON() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return b, nil
}

// Param returns the action parameter key, or "" if it is absent.
func (c CommonEvent) Param(key string) string { return c.Parameters[key] }

// FormValue returns the first string value of the input widget name, or ""
// if the widget sent no string value.
func (c CommonEvent) FormValue(name string) string {
	if v := c.FormValues(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// FormValues returns all string values of the input widget name (e.g. the
// checked items of a CHECK_BOX selection), or nil if there are none. The
// returned slice is shared with the event.
func (c CommonEvent) FormValues(name string) []string {
	in, ok := c.FormInputs[name]
	if !ok || in.StringInputs == nil {
		return nil
	}
	return in.StringInputs.Value
}
