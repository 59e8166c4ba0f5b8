package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// compose fires the compose trigger as Gmail does with draftAccess
// METADATA: the draft's recipients and, for a reply, maybe its thread.
func (h *harness) compose(email, threadID string, to ...string) response {
	h.t.Helper()
	ev := addontest.ComposeEvent(addontest.Tokens{}, to, nil, nil)
	ev.Gmail.ThreadID = threadID
	return h.call(email, h.app.BaseURL+"/addon/compose", ev)
}

// draftInsert is the content an updateDraftActionMarkup response inserts
// into the draft, and its content type.
func draftInsert(t *testing.T, r response) (content, contentType, kind string) {
	t.Helper()
	var env struct {
		RenderActions struct {
			HostAppAction struct {
				GmailAction struct {
					UpdateDraftActionMarkup struct {
						UpdateBody struct {
							InsertContents []struct{ Content, ContentType string }
							Type           string
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.raw), &env); err != nil {
		t.Fatalf("insert response: %v: %s", err, r.raw)
	}
	ub := env.RenderActions.HostAppAction.GmailAction.UpdateDraftActionMarkup.UpdateBody
	if r.status != http.StatusOK || len(ub.InsertContents) != 1 {
		t.Fatalf("insert response: %d %s", r.status, r.raw)
	}
	return ub.InsertContents[0].Content, ub.InsertContents[0].ContentType, ub.Type
}

// actionWith builds the action a forged card would send.
func actionWith(h *harness, params ...string) *cardpb.Action {
	a := &cardpb.Action{Function: h.app.BaseURL + "/addon/action"}
	for i := 0; i+1 < len(params); i += 2 {
		a.Parameters = append(a.Parameters, &cardpb.Action_ActionParameter{Key: params[i], Value: params[i+1]})
	}
	return a
}

func templateForm(name, body string, locked bool) map[string][]string {
	f := map[string][]string{cards.InputTemplateName: {name}, cards.InputTemplateBody: {body}}
	if locked {
		f[cards.InputTemplateLocked] = []string{"locked"}
	}
	return f
}

// TestTemplates: bob writes a Support template from the conversation
// card (one tap to Templates), an unknown placeholder is refused on save,
// and the compose trigger inserts it with every placeholder filled.
func TestTemplates(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	ctx := t.Context()

	conv := h.open("bob@example.com", refund.MessageID(0))
	list := h.click("bob@example.com", button(t, conv.card, "Templates"), nil)
	if list.card.GetName() != cards.NameTemplates || !strings.Contains(cardText(list.card), "No templates yet") {
		t.Fatalf("templates of Support: %s", list.raw)
	}
	edit := h.click("bob@example.com", button(t, list.card, "New template"), nil)
	if edit.card.GetName() != cards.NameTemplateEdit {
		t.Fatalf("new template: %s", edit.raw)
	}
	if strings.Contains(cardText(edit.card), cards.InputTemplateLocked) {
		t.Error("an agent is offered the lock")
	}
	save := button(t, edit.card, "Save template")

	// An unknown placeholder: refused on save, in the user's words.
	r := h.click("bob@example.com", save, templateForm("Refund", "Hi {{customer.first_name}}", false))
	if r.card != nil || !strings.Contains(r.notification, "Unknown placeholder {{customer.first_name}}") {
		t.Fatalf("unknown placeholder: %d %s", r.status, r.raw)
	}
	if ts, _ := h.app.Store.ListTemplates(ctx, "example.com", "support"); len(ts) != 0 {
		t.Fatalf("a refused template was stored: %+v", ts)
	}

	body := "Hi {{customer.name}},\n\nwe refunded you ({{ conversation.ref }}).\n{{agent.name}}, {{inbox.name}}"
	r = h.click("bob@example.com", save, templateForm("Refund sent", body, false))
	if r.status != http.StatusOK || r.notification != "Template saved" || !strings.Contains(cardText(r.card), "Refund sent") {
		t.Fatalf("save: %d %s", r.status, r.raw)
	}
	ts, err := h.app.Store.ListTemplates(ctx, "example.com", "support")
	if err != nil || len(ts) != 1 || ts[0].Body != body || ts[0].UpdatedBy != "bob@example.com" || ts[0].Locked {
		t.Fatalf("stored templates: %+v, %v", ts, err)
	}
	tp := ts[0]

	t.Run("compose without a thread", func(t *testing.T) {
		// A new mail to the customer with Support in Cc: Support's
		// templates, the customer's name from the recipient.
		cp := h.compose("bob@example.com", "", "Dana Fischer <dana@fischer-design.example>", "support@example.com")
		if cp.status != http.StatusOK || cp.card.GetName() != cards.NameCompose || !strings.Contains(cardText(cp.card), "Refund sent") {
			t.Fatalf("compose card: %d %s", cp.status, cp.raw)
		}
		content, ct, kind := draftInsert(t, h.click("bob@example.com", button(t, cp.card, "Insert"), nil))
		want := "Hi Dana Fischer,<br><br>we refunded you ().<br>Bob, Support"
		if content != want || ct != "MUTABLE_HTML" || kind != "IN_PLACE_INSERT" {
			t.Errorf("inserted %q (%s, %s), want %q", content, ct, kind, want)
		}
	})

	t.Run("compose in the conversation's thread", func(t *testing.T) {
		m, ok := h.app.Gmail.FindByMessageID("bob@example.com", refund.MessageID(0))
		if !ok {
			t.Fatal("bob has no copy of the refund mail")
		}
		c, err := h.app.Store.GetConversation(ctx, "example.com", inbox.ConversationID("support", refund.MessageID(0)))
		if err != nil {
			t.Fatal(err)
		}
		// What the sync records for bob's copy.
		if err := h.app.Store.PutThreadLink(ctx, inbox.ThreadLink{TenantID: "example.com", ConversationID: c.ID, Mailbox: "bob@example.com", ThreadID: desk.APIThreadID(m.ThreadID)}); err != nil {
			t.Fatal(err)
		}
		cp := h.compose("bob@example.com", m.ThreadID, "dana@fischer-design.example")
		content, _, _ := draftInsert(t, h.click("bob@example.com", button(t, cp.card, "Insert"), nil))
		want := "Hi Dana Fischer,<br><br>we refunded you (" + inbox.ConversationRef(c) + ").<br>Bob, Support"
		if content != want {
			t.Errorf("inserted %q, want %q", content, want)
		}
	})

	t.Run("compose in German", func(t *testing.T) {
		hl := *h
		hl.t, hl.locale = t, "de-DE"
		cp := hl.compose("bob@example.com", "", "support@example.com")
		if got := cardText(cp.card); !strings.Contains(got, "Vorlagen") || !strings.Contains(got, "Einfügen") {
			t.Errorf("German compose card: %s", got)
		}
	})

	t.Run("lock", func(t *testing.T) {
		// Alice, Support's admin, locks it.
		l := h.click("alice@example.com", actionWith(h, "op", cards.OpTemplates, "inbox", "support"), nil)
		e := h.click("alice@example.com", button(t, l.card, "Refund sent|"+strings.Join(strings.Fields(body), " ")), nil)
		if !strings.Contains(cardText(e.card), cards.InputTemplateLocked) {
			t.Fatalf("an admin is not offered the lock: %s", e.raw)
		}
		if r := h.click("alice@example.com", button(t, e.card, "Save template"), templateForm("Refund sent", body, true)); r.notification != "Template saved" {
			t.Fatalf("lock: %s", r.raw)
		}
		// Bob sees it read-only, and whatever his card sends, the server
		// keeps it as it is: no edit, no unlock, no delete.
		e = h.click("bob@example.com", actionWith(h, "op", cards.OpTemplateEdit, "inbox", "support", "tpl", tp.ID), nil)
		if strings.Contains(cardText(e.card), "Save template") || !strings.Contains(cardText(e.card), "Locked") {
			t.Errorf("bob's view of a locked template: %s", e.raw)
		}
		for name, a := range map[string]*cardpb.Action{
			"save":   actionWith(h, "op", cards.OpTemplateSave, "inbox", "support", "tpl", tp.ID),
			"delete": actionWith(h, "op", cards.OpTemplateDelete, "inbox", "support", "tpl", tp.ID),
		} {
			r := h.click("bob@example.com", a, templateForm("Mine now", "Hi", false))
			if r.notification != "This template is locked: only the inbox’s admins can change it." {
				t.Errorf("bob's %s of a locked template: %d %s", name, r.status, r.raw)
			}
		}
		got, err := h.app.Store.GetTemplate(ctx, "example.com", "support", tp.ID)
		if err != nil || !got.Locked || got.Name != "Refund sent" || got.Body != body {
			t.Errorf("after bob's tries: %+v, %v", got, err)
		}
		// Inserting a locked template is for everyone.
		cp := h.compose("bob@example.com", "", "support@example.com")
		if c, _, _ := draftInsert(t, h.click("bob@example.com", button(t, cp.card, "Insert"), nil)); !strings.Contains(c, "Bob, Support") {
			t.Errorf("insert of a locked template: %q", c)
		}
	})

	t.Run("scoped", func(t *testing.T) {
		// Dave works Sales only; eve another tenant. Forged ids reach
		// nothing of Support's, through any op.
		for _, u := range []string{"dave@example.com", "eve@other.example"} {
			for _, a := range []*cardpb.Action{
				actionWith(h, "op", cards.OpTemplates, "inbox", "support"),
				actionWith(h, "op", cards.OpTemplateEdit, "inbox", "support", "tpl", tp.ID),
				actionWith(h, "op", cards.OpTemplateEdit, "inbox", "sales", "tpl", tp.ID),
				actionWith(h, "op", cards.OpTemplateSave, "inbox", "support", "tpl", tp.ID),
				actionWith(h, "op", cards.OpTemplateSave, "inbox", "sales", "tpl", tp.ID),
				actionWith(h, "op", cards.OpTemplateDelete, "inbox", "support", "tpl", tp.ID),
				actionWith(h, "op", cards.OpTemplateInsert, "inbox", "support", "tpl", tp.ID),
				actionWith(h, "op", cards.OpTemplateInsert, "inbox", "sales", "tpl", tp.ID),
			} {
				r := h.click(u, a, templateForm("Forged", "Forged", false))
				if r.status != http.StatusForbidden || strings.Contains(r.raw, "refunded") {
					t.Errorf("%s %v: %d %s", u, a.GetParameters(), r.status, r.raw)
				}
			}
		}
		// Bob may not insert Support's template for a conversation of
		// Sales (a forged conv).
		sales, err := h.app.Store.ListConversations(ctx, inbox.ConversationQuery{TenantID: "example.com", InboxID: "sales", Limit: 1})
		if err != nil || len(sales.Conversations) == 0 {
			t.Fatalf("a Sales conversation: %v", err)
		}
		r := h.click("bob@example.com", actionWith(h, "op", cards.OpTemplateInsert, "inbox", "support", "tpl", tp.ID, "conv", sales.Conversations[0].ID), nil)
		if r.status != http.StatusForbidden {
			t.Errorf("insert for another inbox's conversation: %d %s", r.status, r.raw)
		}
		// Dave's compose window shows no Support template, even with
		// Support among the recipients.
		cp := h.compose("dave@example.com", "", "support@example.com")
		if got := cardText(cp.card); strings.Contains(got, "Refund sent") || strings.Contains(got, "Support") {
			t.Errorf("dave's compose card shows Support: %s", got)
		}
		got, err := h.app.Store.GetTemplate(ctx, "example.com", "support", tp.ID)
		if err != nil || got.Name != "Refund sent" {
			t.Errorf("after forged requests: %+v, %v", got, err)
		}
	})
}
