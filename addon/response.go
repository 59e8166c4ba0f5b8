package addon

import (
	"encoding/json"
	"errors"
	"fmt"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The response types below have no published proto; they follow the
// add-on JSON schemas (RenderActions, SubmitFormResponse, HostAppActionMarkup).
// Cards and links are google.apps.card.v1 protos and are encoded with
// protojson, never with encoding/json. All types implement json.Marshaler
// (directly or through their fields), so they can be passed to
// echo.Context.JSON; Navigation and Action also decode strictly, which
// lets tests inspect a handler's response.

// RenderActions is the response to triggers (homepage, contextual, compose)
// and, wrapped in SubmitFormResponse, to widget actions.
type RenderActions struct {
	// Action holds card navigation, a notification or a link to open.
	Action *Action `json:"action,omitempty"`
	// HostAppAction holds a host-specific action such as editing a Gmail
	// draft.
	HostAppAction *HostAppAction `json:"hostAppAction,omitempty"`
}

// JSON encodes r in one pass: cards are written by protojson straight
// into the result, not decoded or compacted again. Send it with
// echo.Context.JSONBlob; echo.Context.JSON works too but compacts the whole
// document once more.
func (r RenderActions) JSON() ([]byte, error) { return encode(r.appendJSON) }

// MarshalJSON implements json.Marshaler.
func (r RenderActions) MarshalJSON() ([]byte, error) { return r.appendJSON(nil) }

func (r RenderActions) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	var err error
	if r.Action != nil {
		b = append(b, `"action":`...)
		if b, err = r.Action.appendJSON(b); err != nil {
			return nil, err
		}
	}
	if r.HostAppAction != nil {
		if r.Action != nil {
			b = append(b, ',')
		}
		b = append(b, `"hostAppAction":`...)
		if b, err = appendMarshal(b, r.HostAppAction); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// Action is what the host should do with the card stack.
type Action struct {
	// Navigations are applied in order.
	Navigations []Navigation `json:"navigations,omitempty"`
	// Notification shows a toast.
	Notification *Notification `json:"notification,omitempty"`
	// Link opens a URL in a new tab or overlay. Its URL must match the
	// deployment's openLinkUrlPrefixes.
	Link *cardpb.OpenLink `json:"-"`
}

// actionWire is the JSON form of Action.
type actionWire struct {
	Navigations  []Navigation    `json:"navigations,omitempty"`
	Notification *Notification   `json:"notification,omitempty"`
	Link         json.RawMessage `json:"link,omitempty"`
}

// MarshalJSON implements json.Marshaler; Link is encoded with protojson.
func (a Action) MarshalJSON() ([]byte, error) { return a.appendJSON(nil) }

// appendJSON appends the JSON form of a (actionWire) to b.
func (a Action) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	sep := false
	var err error
	if len(a.Navigations) > 0 {
		b = append(b, `"navigations":[`...)
		for i, n := range a.Navigations {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = n.appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
		sep = true
	}
	if a.Notification != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"notification":{"text":`...)
		if b, err = appendMarshal(b, a.Notification.Text); err != nil {
			return nil, err
		}
		b = append(b, '}')
		sep = true
	}
	if a.Link != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"link":`...)
		if b, err = appendProto(b, a.Link); err != nil {
			return nil, fmt.Errorf("encode action link: %w", err)
		}
	}
	return append(b, '}'), nil
}

// UnmarshalJSON implements json.Unmarshaler; Link is decoded strictly with
// protojson (unknown fields are an error).
func (a *Action) UnmarshalJSON(b []byte) error {
	var w actionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = Action{Navigations: w.Navigations, Notification: w.Notification}
	if isJSONValue(w.Link) {
		a.Link = new(cardpb.OpenLink)
		if err := unmarshalProto(w.Link, a.Link); err != nil {
			return fmt.Errorf("decode action link: %w", err)
		}
	}
	return nil
}

// Notification is a toast with plain text (no HTML).
type Notification struct {
	// Text is the message to show.
	Text string `json:"text"`
}

// Navigation is one card-stack operation. Exactly one field must be set;
// encoding fails otherwise.
type Navigation struct {
	// PushCard pushes a card on top of the stack.
	PushCard *cardpb.Card
	// UpdateCard replaces the top card, preserving filled form values.
	UpdateCard *cardpb.Card
	// PopToCard pops all cards above the card with this name.
	PopToCard string
	// Pop pops one card.
	Pop bool
	// PopToRoot pops all cards except the root card.
	PopToRoot bool
}

// navigationWire is the JSON form of Navigation.
type navigationWire struct {
	PushCard   json.RawMessage `json:"pushCard,omitempty"`
	UpdateCard json.RawMessage `json:"updateCard,omitempty"`
	PopToCard  string          `json:"popToCard,omitempty"`
	Pop        bool            `json:"pop,omitempty"`
	PopToRoot  bool            `json:"popToRoot,omitempty"`
}

var errNavigationOneOf = errors.New("navigation: exactly one of pushCard, updateCard, popToCard, pop, popToRoot must be set")

// MarshalJSON implements json.Marshaler; cards are encoded with protojson.
func (n Navigation) MarshalJSON() ([]byte, error) { return n.appendJSON(nil) }

// appendJSON appends the JSON form of n (navigationWire) to b.
func (n Navigation) appendJSON(b []byte) ([]byte, error) {
	set := 0
	for _, ok := range []bool{n.PushCard != nil, n.UpdateCard != nil, n.PopToCard != "", n.Pop, n.PopToRoot} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return nil, errNavigationOneOf
	}
	var err error
	switch {
	case n.PushCard != nil:
		b, err = appendProto(append(b, `{"pushCard":`...), n.PushCard)
	case n.UpdateCard != nil:
		b, err = appendProto(append(b, `{"updateCard":`...), n.UpdateCard)
	case n.PopToCard != "":
		b, err = appendMarshal(append(b, `{"popToCard":`...), n.PopToCard)
	case n.Pop:
		b = append(b, `{"pop":true`...)
	case n.PopToRoot:
		b = append(b, `{"popToRoot":true`...)
	}
	if err != nil {
		return nil, fmt.Errorf("encode navigation card: %w", err)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON implements json.Unmarshaler; cards are decoded strictly
// with protojson (unknown fields are an error).
func (n *Navigation) UnmarshalJSON(b []byte) error {
	var w navigationWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*n = Navigation{PopToCard: w.PopToCard, Pop: w.Pop, PopToRoot: w.PopToRoot}
	for _, c := range []struct {
		raw json.RawMessage
		dst **cardpb.Card
	}{{w.PushCard, &n.PushCard}, {w.UpdateCard, &n.UpdateCard}} {
		if !isJSONValue(c.raw) {
			continue
		}
		card := new(cardpb.Card)
		if err := unmarshalProto(c.raw, card); err != nil {
			return fmt.Errorf("decode navigation card: %w", err)
		}
		*c.dst = card
	}
	return nil
}

// SubmitFormResponse is the response to widget actions.
type SubmitFormResponse struct {
	// RenderActions is what the host should render.
	RenderActions RenderActions `json:"renderActions"`
	// StateChanged tells the host that data in existing cards is stale.
	StateChanged bool `json:"stateChanged,omitempty"`
}

// JSON encodes r in one pass, like RenderActions.JSON.
func (r SubmitFormResponse) JSON() ([]byte, error) { return encode(r.appendJSON) }

// MarshalJSON implements json.Marshaler.
func (r SubmitFormResponse) MarshalJSON() ([]byte, error) { return r.appendJSON(nil) }

func (r SubmitFormResponse) appendJSON(b []byte) ([]byte, error) {
	b, err := r.RenderActions.appendJSON(append(b, `{"renderActions":`...))
	if err != nil {
		return nil, err
	}
	if r.StateChanged {
		b = append(b, `,"stateChanged":true`...)
	}
	return append(b, '}'), nil
}

// HostAppAction is a host-specific action ("hostAppAction").
type HostAppAction struct {
	// GmailAction acts on the Gmail client, e.g. on the open draft.
	GmailAction *GmailAction `json:"gmailAction,omitempty"`
}

// GmailAction is a Gmail client action; set exactly one field.
type GmailAction struct {
	// UpdateDraftActionMarkup edits the draft being composed.
	UpdateDraftActionMarkup *UpdateDraftActionMarkup `json:"updateDraftActionMarkup,omitempty"`
	// OpenCreatedDraftActionMarkup opens a draft the add-on created with
	// the Gmail API.
	OpenCreatedDraftActionMarkup *OpenCreatedDraftActionMarkup `json:"openCreatedDraftActionMarkup,omitempty"`
	// AddonComposeUIActionMarkup acts on the add-on's compose UI.
	AddonComposeUIActionMarkup *AddonComposeUIActionMarkup `json:"addonComposeUiActionMarkup,omitempty"`
}

// UpdateDraftActionMarkup edits the open draft. Recipient and subject
// updates replace the existing values (the deployment must list the
// UPDATE_SUBJECT_AND_RECIPIENTS widget set).
type UpdateDraftActionMarkup struct {
	// UpdateBody inserts content into the body.
	UpdateBody *UpdateBody `json:"updateBody,omitempty"`
	// UpdateSubject replaces the subject.
	UpdateSubject *UpdateSubject `json:"updateSubject,omitempty"`
	// UpdateToRecipients replaces the "To:" recipients.
	UpdateToRecipients *UpdateToRecipients `json:"updateToRecipients,omitempty"`
	// UpdateCcRecipients replaces the "Cc:" recipients.
	UpdateCcRecipients *UpdateCcRecipients `json:"updateCcRecipients,omitempty"`
	// UpdateBccRecipients replaces the "Bcc:" recipients.
	UpdateBccRecipients *UpdateBccRecipients `json:"updateBccRecipients,omitempty"`
}

// UpdateBody inserts content into a draft body. Gmail requires Type to be
// set.
type UpdateBody struct {
	// InsertContents are inserted in order.
	InsertContents []InsertContent `json:"insertContents,omitempty"`
	// Type says where to insert.
	Type UpdateBodyType `json:"type"`
}

// InsertContent is one piece of draft body content.
type InsertContent struct {
	// Content is the text or HTML to insert.
	Content string `json:"content"`
	// ContentType says how to interpret Content.
	ContentType ContentType `json:"contentType"`
}

// ContentType is the type of InsertContent.Content.
type ContentType string

// Content types for InsertContent.
const (
	// ContentText is plain text.
	ContentText ContentType = "TEXT"
	// ContentMutableHTML is HTML the user can edit after insertion.
	ContentMutableHTML ContentType = "MUTABLE_HTML"
	// ContentImmutableHTML is HTML the user cannot edit.
	ContentImmutableHTML ContentType = "IMMUTABLE_HTML"
)

// UpdateBodyType says where UpdateBody inserts its content.
type UpdateBodyType string

// Update body types.
const (
	// InPlaceInsert inserts at the cursor, replacing any selection.
	InPlaceInsert UpdateBodyType = "IN_PLACE_INSERT"
	// InsertAtStart inserts at the start of the body.
	InsertAtStart UpdateBodyType = "INSERT_AT_START"
	// InsertAtEnd inserts at the end of the body.
	InsertAtEnd UpdateBodyType = "INSERT_AT_END"
	// ReplaceBody replaces the whole body.
	ReplaceBody UpdateBodyType = "REPLACE"
)

// UpdateSubject replaces a draft's subject.
type UpdateSubject struct {
	// Subject is the new subject.
	Subject string `json:"subject"`
}

// Recipient is one draft recipient.
type Recipient struct {
	// Email is the recipient's address.
	Email string `json:"email"`
}

// UpdateToRecipients replaces a draft's "To:" recipients.
type UpdateToRecipients struct {
	// ToRecipients are the new recipients.
	ToRecipients []Recipient `json:"toRecipients"`
}

// UpdateCcRecipients replaces a draft's "Cc:" recipients.
type UpdateCcRecipients struct {
	// CcRecipients are the new recipients.
	CcRecipients []Recipient `json:"ccRecipients"`
}

// UpdateBccRecipients replaces a draft's "Bcc:" recipients.
type UpdateBccRecipients struct {
	// BccRecipients are the new recipients.
	BccRecipients []Recipient `json:"bccRecipients"`
}

// OpenCreatedDraftActionMarkup opens a draft created with the Gmail API.
type OpenCreatedDraftActionMarkup struct {
	// DraftID is the draft ID, e.g. "r123".
	DraftID string `json:"draftId"`
	// DraftThreadID is the ID of the thread containing the draft.
	DraftThreadID string `json:"draftThreadId,omitempty"`
	// DraftStorageID is the server storage ID of the draft.
	DraftStorageID string `json:"draftStorageId,omitempty"`
}

// AddonComposeUIActionMarkup acts on the add-on compose UI; the only type
// is "DISMISS".
type AddonComposeUIActionMarkup struct {
	// Type is the action, "DISMISS".
	Type string `json:"type"`
}

// ScopesRequest asks the user to grant more OAuth scopes (granular
// consent); the host repeats the action once they are granted.
type ScopesRequest struct {
	// Scopes lists the scopes to request; ignored when AllScopes is set.
	Scopes []string
	// AllScopes requests every scope of the deployment.
	AllScopes bool
}

// MarshalJSON implements json.Marshaler.
func (r ScopesRequest) MarshalJSON() ([]byte, error) {
	type inner struct {
		Scopes    []string `json:"scopes,omitempty"`
		AllScopes bool     `json:"all_scopes,omitempty"`
	}
	in := inner{Scopes: r.Scopes}
	if r.AllScopes {
		in = inner{AllScopes: true}
	}
	return json.Marshal(struct {
		R inner `json:"requesting_google_scopes"`
	}{in})
}

// PushCard returns the usual trigger response: push card onto the stack.
func PushCard(card *cardpb.Card) RenderActions {
	return RenderActions{Action: &Action{Navigations: []Navigation{{PushCard: card}}}}
}

// UpdateCard returns an action response that replaces the top card and
// marks state as changed; notification, if not empty, is shown as a toast.
func UpdateCard(card *cardpb.Card, notification string) SubmitFormResponse {
	a := &Action{Navigations: []Navigation{{UpdateCard: card}}}
	if notification != "" {
		a.Notification = &Notification{Text: notification}
	}
	return SubmitFormResponse{RenderActions: RenderActions{Action: a}, StateChanged: true}
}

// PushCardAction returns an action response that drills down to card.
func PushCardAction(card *cardpb.Card) SubmitFormResponse {
	return SubmitFormResponse{RenderActions: PushCard(card)}
}

// Notify returns an action response that only shows a toast.
func Notify(text string) SubmitFormResponse {
	return SubmitFormResponse{RenderActions: RenderActions{Action: &Action{Notification: &Notification{Text: text}}}}
}

// OpenLink returns an action response that opens url in a new tab.
func OpenLink(url string) SubmitFormResponse {
	return SubmitFormResponse{RenderActions: RenderActions{Action: &Action{Link: &cardpb.OpenLink{Url: url}}}}
}

// Pop returns an action response that pops the top card.
func Pop() SubmitFormResponse { return navigate(Navigation{Pop: true}) }

// PopToRoot returns an action response that pops back to the root card.
func PopToRoot() SubmitFormResponse { return navigate(Navigation{PopToRoot: true}) }

// PopToCard returns an action response that pops back to the card named
// name.
func PopToCard(name string) SubmitFormResponse { return navigate(Navigation{PopToCard: name}) }

func navigate(n Navigation) SubmitFormResponse {
	return SubmitFormResponse{RenderActions: RenderActions{Action: &Action{Navigations: []Navigation{n}}}}
}

// InsertDraftText returns a compose action response that inserts content
// at the cursor of the open draft (replacing any selection).
func InsertDraftText(content string, contentType ContentType) SubmitFormResponse {
	return UpdateDraft(UpdateDraftActionMarkup{UpdateBody: &UpdateBody{
		InsertContents: []InsertContent{{Content: content, ContentType: contentType}},
		Type:           InPlaceInsert,
	}})
}

// UpdateDraft returns a compose action response applying m to the open
// draft.
func UpdateDraft(m UpdateDraftActionMarkup) SubmitFormResponse {
	return SubmitFormResponse{RenderActions: RenderActions{
		HostAppAction: &HostAppAction{GmailAction: &GmailAction{UpdateDraftActionMarkup: &m}},
	}}
}

// OpenCreatedDraft returns an action response that opens a draft created
// with the Gmail API.
func OpenCreatedDraft(draftID, threadID string) SubmitFormResponse {
	return SubmitFormResponse{RenderActions: RenderActions{HostAppAction: &HostAppAction{GmailAction: &GmailAction{
		OpenCreatedDraftActionMarkup: &OpenCreatedDraftActionMarkup{DraftID: draftID, DraftThreadID: threadID},
	}}}}
}

// RequestScopes returns a response asking the user to grant scopes.
func RequestScopes(scopes ...string) ScopesRequest { return ScopesRequest{Scopes: scopes} }

// protoMarshal never emits unpopulated fields: the host rejects or
// misrenders the explicit null/UNSPECIFIED values EmitUnpopulated produces.
var protoMarshal = protojson.MarshalOptions{}

// protoUnmarshal is strict: unknown fields are an error.
var protoUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: false}

// appendProto appends the protojson encoding of m to b. Its output is
// valid, compact JSON, though protojson varies its whitespace between
// builds on purpose: compare it parsed, never byte for byte.
func appendProto(b []byte, m proto.Message) ([]byte, error) {
	return protoMarshal.MarshalAppend(b, m)
}

// appendMarshal appends the encoding/json encoding of v, for the small
// parts of a response that are no protos (text, host app actions).
func appendMarshal(b []byte, v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

func unmarshalProto(b []byte, m proto.Message) error {
	return protoUnmarshal.Unmarshal(b, m)
}

// isJSONValue reports whether raw holds a value other than null.
func isJSONValue(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// encodeBufSize is the initial capacity of an encoded response: enough
// for a typical conversation card without growing.
const encodeBufSize = 4 << 10

func encode(appendJSON func([]byte) ([]byte, error)) ([]byte, error) {
	b, err := appendJSON(make([]byte, 0, encodeBufSize))
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return b, nil
}
