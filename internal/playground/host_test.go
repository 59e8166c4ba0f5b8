package playground

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/postfach/postfach/internal/playground/browsertest"
)

// fakeGoogle plays, on the page's own origin, everything the host talks
// to: the dev token endpoint, a one-message Gmail, and an add-on whose
// answers each test scripts. It records every event the host posts.
type fakeGoogle struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	events []recorded
	// answer returns the add-on's response to an event posted to path.
	answer func(path string, ev map[string]any) any
}

type recorded struct {
	Path          string
	Authorization string
	Event         map[string]any
}

func newFakeGoogle(t *testing.T, deployment func(base string) string) *fakeGoogle {
	f := &fakeGoogle{t: t}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	base := f.srv.URL
	page, err := Handler(Options{
		Users: []User{
			{Email: "bob@example.com", Name: "Bob", Tenant: "example.com", TenantName: "Example Inc."},
			{Email: "eve@other.example", Name: "Eve", Tenant: "other.example", TenantName: "Other Ltd."},
		},
		Inboxes:    []Inbox{{Address: "support@example.com", Name: "Support"}},
		Deployment: []byte(deployment(base)),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /playground/", page)
	mux.HandleFunc("GET /static/logo-96.png", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /dev/tokens", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		json.NewEncoder(w).Encode(map[string]string{
			"systemIdToken": "sys|" + q.Get("url"), "userIdToken": "usr|" + q.Get("email"), "userOAuthToken": "oauth|" + q.Get("email"),
		})
	})
	mux.HandleFunc("/gmail/v1/users/me/", f.gmail)
	mux.HandleFunc("POST /addon/", func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.events = append(f.events, recorded{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Event: ev})
		answer := f.answer
		f.mu.Unlock()
		resp := answer(r.URL.Path, ev)
		if s, ok := resp.(int); ok {
			http.Error(w, "scripted failure", s)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	return f
}

// gmail serves one mailbox with one thread of one message.
func (f *fakeGoogle) gmail(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer oauth|") {
		http.Error(w, `{"error":{"code":401,"message":"no token"}}`, http.StatusUnauthorized)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/gmail/v1/users/me/")
	body := base64.RawURLEncoding.EncodeToString([]byte("Hello team,\nplease help."))
	msg := map[string]any{
		"id": "18c3a7f2b9d0e4a1", "threadId": "18c3a7f2b9d0e4a1", "labelIds": []string{"INBOX"}, "snippet": "Hello team",
		"internalDate": fmt.Sprint(time.Now().UnixMilli()),
		"payload": map[string]any{"mimeType": "text/plain", "headers": []map[string]string{
			{"name": "From", "value": "Dana <dana@customer.example>"}, {"name": "To", "value": "support@example.com"},
			{"name": "Subject", "value": "Printer on fire"}, {"name": "Message-ID", "value": "<m1@customer.example>"},
		}, "body": map[string]any{"data": body}},
	}
	var out any
	switch {
	case rest == "profile":
		out = map[string]any{"emailAddress": "bob@example.com", "historyId": "7"}
	case rest == "labels":
		out = map[string]any{"labels": []map[string]any{{"id": "INBOX", "name": "INBOX", "type": "system"}, {"id": "Label_1", "name": "Postfach/Support/Open", "type": "user"}}}
	case rest == "labels/INBOX":
		out = map[string]any{"id": "INBOX", "name": "INBOX", "type": "system", "threadsTotal": 1, "threadsUnread": 0}
	case rest == "labels/Label_1":
		out = map[string]any{"id": "Label_1", "name": "Postfach/Support/Open", "type": "user", "threadsTotal": 1}
	case rest == "messages":
		out = map[string]any{"messages": []map[string]string{{"id": "18c3a7f2b9d0e4a1", "threadId": "18c3a7f2b9d0e4a1"}}}
	case rest == "threads/18c3a7f2b9d0e4a1":
		out = map[string]any{"id": "18c3a7f2b9d0e4a1", "messages": []any{msg}}
	default:
		http.Error(w, `{"error":{"code":404,"message":"not found"}}`, http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeGoogle) posted() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.events...)
}

// last waits for the n-th event (1-based) and returns it.
func (f *fakeGoogle) event(n int) recorded {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ev := f.posted(); len(ev) >= n {
			return ev[n-1]
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no event %d; got %d", n, len(f.posted()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func card(title string, widgets ...any) map[string]any {
	return map[string]any{"header": map[string]any{"title": title}, "sections": []any{map[string]any{"widgets": widgets}}}
}

func button(text, function string, params ...string) map[string]any {
	var ps []any
	for i := 0; i+1 < len(params); i += 2 {
		ps = append(ps, map[string]string{"key": params[i], "value": params[i+1]})
	}
	return map[string]any{"buttonList": map[string]any{"buttons": []any{map[string]any{"text": text, "onClick": map[string]any{"action": map[string]any{"function": function, "parameters": ps}}}}}}
}

func nav(navs ...map[string]any) map[string]any {
	return map[string]any{"renderActions": map[string]any{"action": map[string]any{"navigations": navs}}}
}

const testDeployment = `{
  "oauthScopes": ["https://www.googleapis.com/auth/gmail.addons.execute", "https://www.googleapis.com/auth/userinfo.email"],
  "addOns": {
    "common": {
      "name": "Postfach",
      "homepageTrigger": {"runFunction": "${BASE}/addon/homepage"},
      "universalActions": [{"label": "Settings", "runFunction": "${BASE}/addon/settings"}],
      "openLinkUrlPrefixes": ["https://mail.google.com/", "${BASE}/oauth/"]
    },
    "gmail": {
      "contextualTriggers": [{"unconditional": {}, "onTriggerFunction": "${BASE}/addon/message-open"}],
      "composeTrigger": {"actions": [{"runFunction": "${BASE}/addon/compose", "text": "Templates"}], "draftAccess": "METADATA"}
    },
    "httpOptions": {"authorizationHeader": "SYSTEM_ID_TOKEN"}
  }
}`

// TestHostSpeaksGooglesProtocol checks the host half of the playground
// against a scripted add-on: which URL each trigger and button posts to,
// with which tokens and event fields, and how each kind of response is
// applied (navigation, notifications, links, compose actions).
func TestHostSpeaksGooglesProtocol(t *testing.T) {
	b := browsertest.New(t)
	f := newFakeGoogle(t, func(base string) string { return strings.ReplaceAll(testDeployment, "${BASE}", base) })
	base := f.srv.URL
	f.answer = func(path string, ev map[string]any) any {
		common, _ := ev["commonEventObject"].(map[string]any)
		params, _ := common["parameters"].(map[string]any)
		switch {
		case path == "/addon/homepage":
			return map[string]any{"action": map[string]any{"navigations": []any{map[string]any{"pushCard": card("Home",
				button("Go deeper", base+"/addon/action", "op", "push"))}}}}
		case path == "/addon/message-open":
			return map[string]any{"action": map[string]any{"navigations": []any{map[string]any{"pushCard": map[string]any{
				"name": "conversation", "header": map[string]any{"title": "Conversation"},
				"sections": []any{map[string]any{"widgets": []any{
					map[string]any{"textInput": map[string]any{"name": "note", "label": "Internal note"}},
					button("Add note", base+"/addon/action", "op", "note", "conv", "c1"),
					button("Open in Gmail", "", "op", "x"),
				}}},
			}}}}}
		case path == "/addon/settings":
			return nav(map[string]any{"pushCard": card("Settings card")})
		case path == "/addon/compose":
			return nav(map[string]any{"pushCard": card("Templates", button("Insert greeting", base+"/addon/action", "op", "insert"))})
		case params["op"] == "push":
			return nav(map[string]any{"pushCard": card("Second", button("Replace me", base+"/addon/action", "op", "update"))})
		case params["op"] == "update":
			return map[string]any{"renderActions": map[string]any{"action": map[string]any{
				"navigations":  []any{map[string]any{"updateCard": card("Replaced", button("Pop to root", base+"/addon/action", "op", "root"))}},
				"notification": map[string]any{"text": "Card replaced"},
			}}}
		case params["op"] == "root":
			return nav(map[string]any{"popToRoot": true})
		case params["op"] == "note":
			return map[string]any{"renderActions": map[string]any{"action": map[string]any{"notification": map[string]any{"text": "Note added"}}}}
		case params["op"] == "insert":
			return map[string]any{"renderActions": map[string]any{"hostAppAction": map[string]any{"gmailAction": map[string]any{
				"updateDraftActionMarkup": map[string]any{
					"updateBody":    map[string]any{"insertContents": []any{map[string]any{"content": "Hi Dana,<br>thanks!", "contentType": "MUTABLE_HTML"}}, "type": "INSERT_AT_START"},
					"updateSubject": map[string]any{"subject": "Re: Printer on fire"},
				},
			}}}}
		}
		return http.StatusInternalServerError
	}
	p := b.Page(t, b.Context())
	p.Settle = "playground.idle()"
	p.Do("open", chromedp.Navigate(base+"/?user=bob@example.com"))

	// The homepage trigger: the homepage URL from the deployment, the
	// tokens for exactly that URL, no gmail object, no locale (the
	// deployment does not ask for it).
	p.WaitText("#pg-side-body", "Go deeper")
	home := f.event(1)
	if home.Path != "/addon/homepage" || home.Authorization != "Bearer sys|"+base+"/addon/homepage" {
		t.Errorf("homepage: %s with %q", home.Path, home.Authorization)
	}
	wantAuth := map[string]any{"systemIdToken": "sys|" + base + "/addon/homepage", "userIdToken": "usr|bob@example.com", "userOAuthToken": "oauth|bob@example.com",
		"authorizedScopes": []any{"https://www.googleapis.com/auth/gmail.addons.execute", "https://www.googleapis.com/auth/userinfo.email"}}
	if got := home.Event["authorizationEventObject"]; !jsonEqual(got, wantAuth) {
		t.Errorf("homepage authorizationEventObject = %v, want %v", got, wantAuth)
	}
	if got := home.Event["commonEventObject"]; !jsonEqual(got, map[string]any{"hostApp": "GMAIL", "platform": "WEB"}) {
		t.Errorf("homepage commonEventObject = %v", got)
	}
	if _, ok := home.Event["gmail"]; ok {
		t.Errorf("homepage event has a gmail object: %v", home.Event)
	}

	// Navigation: push, update (with a notification), pop to root.
	p.Click("#pg-side-body", "Go deeper")
	p.WaitText("#pg-side-body", "Replace me")
	if !p.Visible("#pg-side-back") {
		t.Error("no back button on a pushed card")
	}
	if ev := f.event(2); !jsonEqual(ev.Event["commonEventObject"].(map[string]any)["parameters"], map[string]any{"op": "push"}) {
		t.Errorf("action parameters = %v", ev.Event["commonEventObject"])
	}
	p.Click("#pg-side-body", "Replace me")
	p.WaitText("#pg-side-body", "Replaced")
	p.WaitText("#pg-toast", "Card replaced")
	var depth int
	p.JS(`playground.state.stack.length`, &depth)
	if depth != 2 {
		t.Errorf("after updateCard the stack holds %d cards, want 2", depth)
	}
	p.Click("#pg-side-body", "Pop to root")
	p.WaitText("#pg-side-body", "Go deeper")

	// The universal action from the menu.
	p.Click(".pg-side-head", "⋮")
	p.Click("#pg-side-menu-list", "Settings")
	p.WaitText("#pg-side-body", "Settings card")

	// Opening the mail fires the contextual trigger with Google's id forms;
	// the form input and the gmail object go with the button's action.
	p.Click("#pg-list", "Printer on fire")
	p.WaitText("#pg-side-body", "Add note")
	open := f.posted()[len(f.posted())-1]
	wantGmail := map[string]any{"messageId": "msg-f:1784454538310247585", "threadId": "thread-f:1784454538310247585", "accessToken": "oauth|bob@example.com"}
	if open.Path != "/addon/message-open" || !jsonEqual(open.Event["gmail"], wantGmail) {
		t.Errorf("message open: %s %v, want gmail %v", open.Path, open.Event["gmail"], wantGmail)
	}
	p.Type("#pg-side-body", "note", "Called her back")
	p.Click("#pg-side-body", "Add note")
	p.WaitText("#pg-toast", "Note added")
	note := f.posted()[len(f.posted())-1]
	wantCommon := map[string]any{"hostApp": "GMAIL", "platform": "WEB", "parameters": map[string]any{"op": "note", "conv": "c1"},
		"formInputs": map[string]any{"note": map[string]any{"stringInputs": map[string]any{"value": []any{"Called her back"}}}}}
	if !jsonEqual(note.Event["commonEventObject"], wantCommon) || !jsonEqual(note.Event["gmail"], wantGmail) {
		t.Errorf("note action: common %v gmail %v", note.Event["commonEventObject"], note.Event["gmail"])
	}
	if note.Authorization != "Bearer sys|"+base+"/addon/action" {
		t.Errorf("note action authorization %q: tokens must be minted for the action URL", note.Authorization)
	}

	// Compose: the trigger gets the draft's recipients (draftAccess
	// METADATA); its card's action edits the draft.
	p.Click("#pg-thread", "Reply")
	p.WaitFor("compose open", `document.getElementById('pg-compose-dialog').open`)
	p.Click("#pg-compose-form", "Templates")
	p.WaitText("#pg-compose-addon", "Insert greeting")
	compose := f.posted()[len(f.posted())-1]
	if compose.Path != "/addon/compose" || !jsonEqual(compose.Event["gmail"], map[string]any{"toRecipients": []any{"Dana <dana@customer.example>"}, "ccRecipients": []any{}, "bccRecipients": []any{}, "accessToken": "oauth|bob@example.com"}) {
		t.Errorf("compose trigger: %s %v", compose.Path, compose.Event["gmail"])
	}
	p.Click("#pg-compose-addon", "Insert greeting")
	p.WaitText("#pg-compose-body", "Hi Dana,\nthanks!")
	var subject string
	p.JS(`document.querySelector('#pg-compose-form [name=subject]').value`, &subject)
	if subject != "Re: Printer on fire" {
		t.Errorf("subject after updateDraftActionMarkup = %q", subject)
	}

	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
}

// TestHostShowsFailures: a failing add-on shows an error in the sidebar,
// and a link outside openLinkUrlPrefixes is refused, as Google would.
func TestHostShowsFailures(t *testing.T) {
	b := browsertest.New(t)
	f := newFakeGoogle(t, func(base string) string { return strings.ReplaceAll(testDeployment, "${BASE}", base) })
	f.answer = func(path string, _ map[string]any) any {
		if path == "/addon/homepage" {
			return map[string]any{"action": map[string]any{"navigations": []any{map[string]any{"pushCard": card("Home",
				map[string]any{"buttonList": map[string]any{"buttons": []any{
					map[string]any{"text": "Elsewhere", "onClick": map[string]any{"openLink": map[string]any{"url": "https://evil.example/x"}}},
					map[string]any{"text": "Break", "onClick": map[string]any{"action": map[string]any{"function": f.srv.URL + "/addon/action"}}},
				}}})}}}}
		}
		return http.StatusInternalServerError
	}
	p := b.Page(t, b.Context())
	p.Settle = "playground.idle()"
	p.Do("open", chromedp.Navigate(f.srv.URL+"/"))
	p.WaitText("#pg-side-body", "Elsewhere")
	p.Click("#pg-side-body", "Elsewhere")
	p.WaitText("#pg-toast", "openLinkUrlPrefixes")
	p.Click("#pg-side-body", "Break")
	p.WaitText("#pg-side-body", "HTTP 500")

	// Mobile: no homepage trigger at all.
	before := len(f.posted())
	p.Click(".pg-device", "Mobile")
	p.WaitFor("mobile", `document.body.classList.contains('pg-mobile')`)
	p.Idle()
	if after := f.posted(); len(after) != before {
		t.Errorf("mobile posted %s: no homepage exists on mobile", after[len(after)-1].Path)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	var u, v any
	json.Unmarshal(x, &u)
	json.Unmarshal(y, &v)
	p, _ := json.Marshal(u)
	q, _ := json.Marshal(v)
	return string(p) == string(q)
}
