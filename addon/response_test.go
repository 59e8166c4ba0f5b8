package addon

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"
	"google.golang.org/genproto/googleapis/type/color"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

func onClickAction(fn string, params ...string) *cardpb.OnClick {
	a := &cardpb.Action{Function: fn}
	for i := 0; i+1 < len(params); i += 2 {
		a.Parameters = append(a.Parameters, &cardpb.Action_ActionParameter{Key: params[i], Value: params[i+1]})
	}
	return &cardpb.OnClick{Data: &cardpb.OnClick_Action{Action: a}}
}

func blue() *color.Color { return &color.Color{Red: 0.1, Green: 0.45, Blue: 0.9} }

// homepageCard is the homepage card of addon-protocol.md §3.3.
func homepageCard() *cardpb.Card {
	return &cardpb.Card{
		Name: "home",
		Header: &cardpb.Card_CardHeader{
			Title: "Shared inbox", Subtitle: "support@acme-support.example",
			ImageUrl: "https://addon.example.com/logo.png", ImageType: cardpb.Widget_CIRCLE,
		},
		Sections: []*cardpb.Card_Section{{
			Header: "My queue", Collapsible: true, UncollapsibleWidgetsCount: 2,
			Widgets: []*cardpb.Widget{
				{Data: &cardpb.Widget_DecoratedText{DecoratedText: &cardpb.DecoratedText{
					TopLabel: "Open, assigned to me", Text: "<b>12</b>",
					StartIcon: &cardpb.Icon{Icons: &cardpb.Icon_KnownIcon{KnownIcon: "EMAIL"}},
					OnClick:   onClickAction("https://addon.example.com/addon/action?op=list", "filter", "mine"),
				}}},
				{Data: &cardpb.Widget_DecoratedText{DecoratedText: &cardpb.DecoratedText{TopLabel: "Unassigned", Text: "5", WrapText: true}}},
				{Data: &cardpb.Widget_Divider{Divider: &cardpb.Divider{}}},
				{Data: &cardpb.Widget_TextParagraph{TextParagraph: &cardpb.TextParagraph{Text: "Open a conversation to see its ticket.", MaxLines: 3}}},
			},
		}},
		FixedFooter: &cardpb.Card_CardFixedFooter{PrimaryButton: &cardpb.Button{
			Text: "Refresh", Color: blue(), OnClick: onClickAction("https://addon.example.com/addon/action?op=refresh"),
		}},
		CardActions: []*cardpb.Card_CardAction{
			{ActionLabel: "Settings", OnClick: onClickAction("https://addon.example.com/addon/action?op=settings")},
			{ActionLabel: "Help", OnClick: &cardpb.OnClick{Data: &cardpb.OnClick_OpenLink{OpenLink: &cardpb.OpenLink{Url: "https://help.example.com"}}}},
		},
	}
}

// ticketFormCard is the contextual ticket card of addon-protocol.md §3.3.
func ticketFormCard() *cardpb.Card {
	item := func(text, value string, selected bool) *cardpb.SelectionInput_SelectionItem {
		return &cardpb.SelectionInput_SelectionItem{Text: text, Value: value, Selected: selected}
	}
	save := onClickAction("https://addon.example.com/addon/action?op=save", "ticketId", "T-1042")
	save.GetAction().LoadIndicator = cardpb.Action_SPINNER
	save.GetAction().RequiredWidgets = []string{"status"}
	return &cardpb.Card{
		Name:   "ticket",
		Header: &cardpb.Card_CardHeader{Title: "Ticket T-1042", Subtitle: "Refund request · Pending"},
		Sections: []*cardpb.Card_Section{{Widgets: []*cardpb.Widget{
			{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
				Name: "status", Label: "Status", Type: cardpb.SelectionInput_DROPDOWN,
				Items: []*cardpb.SelectionInput_SelectionItem{item("Open", "open", false), item("Pending", "pending", true), item("Closed", "closed", false)},
			}}},
			{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
				Name: "assignee", Label: "Assignee", Type: cardpb.SelectionInput_DROPDOWN,
				Items: []*cardpb.SelectionInput_SelectionItem{item("Alice", "alice@acme-support.example", true), item("Bob", "bob@acme-support.example", false)},
				OnChangeAction: &cardpb.Action{
					Function:      "https://addon.example.com/addon/action?op=preview-assign",
					LoadIndicator: cardpb.Action_NONE, PersistValues: true,
				},
			}}},
			{Data: &cardpb.Widget_SelectionInput{SelectionInput: &cardpb.SelectionInput{
				Name: "tags", Label: "Tags", Type: cardpb.SelectionInput_CHECK_BOX,
				Items: []*cardpb.SelectionInput_SelectionItem{item("Billing", "billing", false), item("VIP", "vip", false)},
			}}},
			{Data: &cardpb.Widget_TextInput{TextInput: &cardpb.TextInput{
				Name: "note", Label: "Internal note", Type: cardpb.TextInput_MULTIPLE_LINE, HintText: "Visible to your team only",
				Validation: &cardpb.Validation{CharacterLimit: 2000, InputType: cardpb.Validation_TEXT},
			}}},
			{Data: &cardpb.Widget_DateTimePicker{DateTimePicker: &cardpb.DateTimePicker{
				Name: "followUpAt", Label: "Follow up", Type: cardpb.DateTimePicker_DATE_AND_TIME, ValueMsEpoch: proto.Int64(1767258000000),
			}}},
			{Data: &cardpb.Widget_DecoratedText{DecoratedText: &cardpb.DecoratedText{
				Text: "Notify customer",
				Control: &cardpb.DecoratedText_SwitchControl_{SwitchControl: &cardpb.DecoratedText_SwitchControl{
					Name: "notifyCustomer", Value: "yes", ControlType: cardpb.DecoratedText_SwitchControl_SWITCH,
				}},
			}}},
			{Data: &cardpb.Widget_ButtonList{ButtonList: &cardpb.ButtonList{Buttons: []*cardpb.Button{
				{Text: "Save", Color: blue(), OnClick: save},
				{Text: "Open in app", OnClick: &cardpb.OnClick{Data: &cardpb.OnClick_OpenLink{OpenLink: &cardpb.OpenLink{
					Url: "https://app.example.com/t/T-1042", OpenAs: cardpb.OpenLink_FULL_SIZE, OnClose: cardpb.OpenLink_NOTHING,
				}}}},
			}}}},
			{Data: &cardpb.Widget_Grid{Grid: &cardpb.Grid{
				Title: "Attachments", ColumnCount: 2,
				Items: []*cardpb.Grid_GridItem{{Id: "att-1", Title: "invoice.pdf",
					Image: &cardpb.ImageComponent{ImageUri: "https://addon.example.com/pdf.png"}}},
				OnClick: onClickAction("https://addon.example.com/addon/action?op=open-attachment"),
			}}},
		}}},
	}
}

// savedCard is the updated card of the action reply in addon-protocol.md §3.3.
func savedCard() *cardpb.Card {
	return &cardpb.Card{
		Name:   "ticket",
		Header: &cardpb.Card_CardHeader{Title: "Ticket T-1042", Subtitle: "Assigned to Bob"},
		Sections: []*cardpb.Card_Section{{Widgets: []*cardpb.Widget{
			{Data: &cardpb.Widget_TextParagraph{TextParagraph: &cardpb.TextParagraph{Text: "Saved."}}},
		}}},
	}
}

type responseCase struct {
	name string
	resp any // RenderActions, SubmitFormResponse or ScopesRequest
	// doc, if set, is the JSON given in addon-protocol.md for this
	// response; the output must equal it semantically.
	doc string
}

func responseCases() []responseCase {
	return []responseCase{
		{name: "push_card_homepage", resp: PushCard(homepageCard()), doc: `{
  "action": {
    "navigations": [{
      "pushCard": {
        "name": "home",
        "header": { "title": "Shared inbox", "subtitle": "support@acme-support.example",
                    "imageUrl": "https://addon.example.com/logo.png", "imageType": "CIRCLE" },
        "sections": [{
          "header": "My queue",
          "collapsible": true, "uncollapsibleWidgetsCount": 2,
          "widgets": [
            { "decoratedText": { "topLabel": "Open, assigned to me", "text": "<b>12</b>",
                                 "startIcon": { "knownIcon": "EMAIL" },
                                 "onClick": { "action": { "function": "https://addon.example.com/addon/action?op=list",
                                                          "parameters": [{ "key": "filter", "value": "mine" }] } } } },
            { "decoratedText": { "topLabel": "Unassigned", "text": "5", "wrapText": true } },
            { "divider": {} },
            { "textParagraph": { "text": "Open a conversation to see its ticket.", "maxLines": 3 } }
          ]
        }],
        "fixedFooter": {
          "primaryButton": { "text": "Refresh", "color": { "red": 0.1, "green": 0.45, "blue": 0.9 },
                             "onClick": { "action": { "function": "https://addon.example.com/addon/action?op=refresh" } } }
        },
        "cardActions": [
          { "actionLabel": "Settings", "onClick": { "action": { "function": "https://addon.example.com/addon/action?op=settings" } } },
          { "actionLabel": "Help", "onClick": { "openLink": { "url": "https://help.example.com" } } }
        ]
      }
    }]
  }
}`},
		{name: "push_card_ticket_form", resp: PushCard(ticketFormCard())},
		{name: "push_card_action", resp: PushCardAction(savedCard())},
		{name: "update_card_notification", resp: UpdateCard(savedCard(), "Ticket assigned to Bob"), doc: `{
  "renderActions": {
    "action": {
      "navigations": [ { "updateCard": { "name": "ticket", "header": { "title": "Ticket T-1042", "subtitle": "Assigned to Bob" },
                                         "sections": [ { "widgets": [ { "textParagraph": { "text": "Saved." } } ] } ] } } ],
      "notification": { "text": "Ticket assigned to Bob" }
    }
  },
  "stateChanged": true
}`},
		{name: "update_card_silent", resp: UpdateCard(savedCard(), "")},
		{name: "notify", resp: Notify("Copied"), doc: `{"renderActions":{"action":{"notification":{"text":"Copied"}}}}`},
		{name: "pop", resp: Pop(), doc: `{"renderActions":{"action":{"navigations":[{"pop":true}]}}}`},
		{name: "pop_to_root", resp: PopToRoot(), doc: `{"renderActions":{"action":{"navigations":[{"popToRoot":true}]}}}`},
		{name: "pop_to_card", resp: PopToCard("home"), doc: `{"renderActions":{"action":{"navigations":[{"popToCard":"home"}]}}}`},
		{name: "open_link", resp: OpenLink("https://app.example.com/t/T-1042"),
			doc: `{"renderActions":{"action":{"link":{"url":"https://app.example.com/t/T-1042"}}}}`},
		{name: "open_link_overlay", resp: SubmitFormResponse{RenderActions: RenderActions{Action: &Action{Link: &cardpb.OpenLink{
			Url: "https://app.example.com/t/T-1042", OpenAs: cardpb.OpenLink_OVERLAY, OnClose: cardpb.OpenLink_RELOAD,
		}}}}, doc: `{"renderActions":{"action":{"link":{"url":"https://app.example.com/t/T-1042","openAs":"OVERLAY","onClose":"RELOAD"}}}}`},
		{name: "insert_draft_text", resp: InsertDraftText("Hi Dana,\nthanks for reaching out.", ContentText)},
		{name: "update_draft", resp: UpdateDraft(UpdateDraftActionMarkup{
			UpdateBody: &UpdateBody{Type: InPlaceInsert, InsertContents: []InsertContent{
				{Content: "<p>Hi Dana,<br>thanks for reaching out…</p>", ContentType: ContentMutableHTML},
			}},
			UpdateSubject:      &UpdateSubject{Subject: "Re: Refund request [T-1042]"},
			UpdateCcRecipients: &UpdateCcRecipients{CcRecipients: []Recipient{{Email: "billing@acme-support.example"}}},
		}), doc: `{
  "renderActions": {
    "hostAppAction": {
      "gmailAction": {
        "updateDraftActionMarkup": {
          "updateBody": { "type": "IN_PLACE_INSERT",
                          "insertContents": [ { "content": "<p>Hi Dana,<br>thanks for reaching out…</p>", "contentType": "MUTABLE_HTML" } ] },
          "updateSubject": { "subject": "Re: Refund request [T-1042]" },
          "updateCcRecipients": { "ccRecipients": [ { "email": "billing@acme-support.example" } ] }
        }
      }
    }
  }
}`},
		{name: "open_created_draft", resp: OpenCreatedDraft("r123", "15e9fa622ce1029d"),
			doc: `{"renderActions":{"hostAppAction":{"gmailAction":{"openCreatedDraftActionMarkup":{"draftId":"r123","draftThreadId":"15e9fa622ce1029d"}}}}}`},
		{name: "request_scopes", resp: RequestScopes("https://www.googleapis.com/auth/gmail.addons.current.message.readonly"),
			doc: `{"requesting_google_scopes":{"scopes":["https://www.googleapis.com/auth/gmail.addons.current.message.readonly"]}}`},
		{name: "request_all_scopes", resp: ScopesRequest{AllScopes: true}, doc: `{"requesting_google_scopes":{"all_scopes":true}}`},
	}
}

// semanticDiff compares two JSON documents ignoring whitespace and key
// order (protojson randomises whitespace on purpose).
func semanticDiff(t *testing.T, want, got []byte) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("decode want: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode got: %v\n%s", err, got)
	}
	return cmp.Diff(w, g)
}

func TestResponsesGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range responseCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tc.resp)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			path := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				var buf bytes.Buffer
				if err := json.Indent(&buf, got, "", "  "); err != nil {
					t.Fatal(err)
				}
				buf.WriteByte('\n')
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if diff := semanticDiff(t, want, got); diff != "" {
				t.Errorf("%s mismatch (-golden +got):\n%s", path, diff)
			}
			if tc.doc != "" {
				if diff := semanticDiff(t, []byte(tc.doc), got); diff != "" {
					t.Errorf("output differs from addon-protocol.md example (-doc +got):\n%s", diff)
				}
			}
		})
	}
}

// TestResponseCardsStrictRoundTrip finds every card and link in each
// encoded response and checks that it decodes strictly (unknown fields are
// errors) into the proto it was built from.
func TestResponseCardsStrictRoundTrip(t *testing.T) {
	t.Parallel()
	strict := protojson.UnmarshalOptions{DiscardUnknown: false}
	for _, tc := range responseCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			var wire struct {
				RenderActions *json.RawMessage `json:"renderActions"`
				Action        *struct {
					Navigations []map[string]json.RawMessage `json:"navigations"`
					Link        json.RawMessage              `json:"link"`
				} `json:"action"`
			}
			if err := json.Unmarshal(b, &wire); err != nil {
				t.Fatal(err)
			}
			if wire.RenderActions != nil {
				if err := json.Unmarshal(*wire.RenderActions, &wire); err != nil {
					t.Fatal(err)
				}
			}
			var wantCards []*cardpb.Card
			var wantLink *cardpb.OpenLink
			switch r := tc.resp.(type) {
			case RenderActions:
				wantCards, wantLink = cardsOf(r)
			case SubmitFormResponse:
				wantCards, wantLink = cardsOf(r.RenderActions)
			}
			var gotCards []*cardpb.Card
			if wire.Action != nil {
				for _, nav := range wire.Action.Navigations {
					for _, key := range []string{"pushCard", "updateCard"} {
						raw, ok := nav[key]
						if !ok {
							continue
						}
						card := new(cardpb.Card)
						if err := strict.Unmarshal(raw, card); err != nil {
							t.Fatalf("strict protojson decode of %s: %v\n%s", key, err, raw)
						}
						gotCards = append(gotCards, card)
					}
				}
				if len(wire.Action.Link) > 0 {
					link := new(cardpb.OpenLink)
					if err := strict.Unmarshal(wire.Action.Link, link); err != nil {
						t.Fatalf("strict protojson decode of link: %v", err)
					}
					if !proto.Equal(link, wantLink) {
						t.Errorf("link = %v, want %v", link, wantLink)
					}
				}
			}
			if diff := cmp.Diff(wantCards, gotCards, protocmp.Transform()); diff != "" {
				t.Errorf("cards (-want +got):\n%s", diff)
			}
			if wantLink != nil && (wire.Action == nil || len(wire.Action.Link) == 0) {
				t.Error("link missing from output")
			}

			// The package's own decoders must give back the same value.
			switch r := tc.resp.(type) {
			case RenderActions:
				var back RenderActions
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(r, back, protocmp.Transform()); diff != "" {
					t.Errorf("decode (-want +got):\n%s", diff)
				}
			case SubmitFormResponse:
				var back SubmitFormResponse
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(r, back, protocmp.Transform()); diff != "" {
					t.Errorf("decode (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func cardsOf(r RenderActions) ([]*cardpb.Card, *cardpb.OpenLink) {
	if r.Action == nil {
		return nil, nil
	}
	var cards []*cardpb.Card
	for _, n := range r.Action.Navigations {
		for _, c := range []*cardpb.Card{n.PushCard, n.UpdateCard} {
			if c != nil {
				cards = append(cards, c)
			}
		}
	}
	return cards, r.Action.Link
}

func TestResponseEncodingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
	}{
		{"empty navigation", RenderActions{Action: &Action{Navigations: []Navigation{{}}}}},
		{"two navigations in one", RenderActions{Action: &Action{Navigations: []Navigation{{Pop: true, PopToRoot: true}}}}},
		{"card and pop", RenderActions{Action: &Action{Navigations: []Navigation{{PushCard: savedCard(), Pop: true}}}}},
		{"nil card", PushCard(nil)},
		{"nil card in update", UpdateCard(nil, "x")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if b, err := json.Marshal(tc.v); err == nil {
				t.Errorf("Marshal = %s, want error", b)
			} else if !strings.Contains(err.Error(), "exactly one") {
				t.Errorf("error = %v, want one-of error", err)
			}
		})
	}
}

func TestResponseDecodingIsStrictForCards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"unknown card field", `{"action":{"navigations":[{"pushCard":{"title":"x"}}]}}`},
		{"unknown widget", `{"action":{"navigations":[{"updateCard":{"sections":[{"widgets":[{"bogus":{}}]}]}}]}}`},
		{"unknown link field", `{"action":{"link":{"url":"https://x","target":"_blank"}}}`},
		{"bad enum", `{"action":{"link":{"url":"https://x","openAs":"SIDEWAYS"}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r RenderActions
			if err := json.Unmarshal([]byte(tc.in), &r); err == nil {
				t.Errorf("Unmarshal(%s) succeeded, want error", tc.in)
			}
		})
	}
}

func TestResponseJSONMethods(t *testing.T) {
	t.Parallel()
	b, err := PushCard(savedCard()).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if diff := semanticDiff(t, []byte(`{"action":{"navigations":[{"pushCard":{"name":"ticket","header":{"title":"Ticket T-1042","subtitle":"Assigned to Bob"},"sections":[{"widgets":[{"textParagraph":{"text":"Saved."}}]}]}}]}}`), b); diff != "" {
		t.Errorf("RenderActions.JSON (-want +got):\n%s", diff)
	}
	b, err = Notify("Hi").JSON()
	if err != nil {
		t.Fatal(err)
	}
	if diff := semanticDiff(t, []byte(`{"renderActions":{"action":{"notification":{"text":"Hi"}}}}`), b); diff != "" {
		t.Errorf("SubmitFormResponse.JSON (-want +got):\n%s", diff)
	}
	if _, err := PushCard(nil).JSON(); err == nil || !strings.HasPrefix(err.Error(), "encode response: ") {
		t.Errorf("JSON() of invalid response: err = %v, want encode response error", err)
	}
}

// TestResponsesThroughEcho checks that echo's JSON serializer (which
// escapes HTML) yields the same document as the goldens.
func TestResponsesThroughEcho(t *testing.T) {
	t.Parallel()
	e := echo.New()
	for _, tc := range responseCases() {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), rec)
		if err := c.JSON(http.StatusOK, tc.resp); err != nil {
			t.Fatalf("%s: c.JSON: %v", tc.name, err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", tc.name+".golden.json"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := semanticDiff(t, want, rec.Body.Bytes()); diff != "" {
			t.Errorf("%s via echo (-golden +got):\n%s", tc.name, diff)
		}
	}
}
