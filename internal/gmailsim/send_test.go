package gmailsim_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"testing"

	gmail "google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

// TestSend: messages.send keeps the sender's copy labelled SENT only, routes
// every recipient (a group to its members) and gives the sender no second
// copy; a later delivery of the same mail to the sender is dropped too.
func TestSend(t *testing.T) {
	t.Parallel()
	group := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	e := MustStart(t, gmailsim.Options{Route: func(a string) []string {
		if a == "support@example.com" {
			return group
		}
		return []string{a}
	}}, append(group, "nora@customer.example")...)
	bob := e.MustClient(t, "bob@example.com")
	raw := "To: nora@customer.example\r\nCc: Support <support@example.com>\r\nSubject: Re: Help\r\n\r\nFixed.\r\n"
	sent, err := bob.Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte(raw))}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sent.LabelIds, []string{"SENT"}) {
		t.Errorf("sender's copy labelled %v, want [SENT]", sent.LabelIds)
	}
	got, err := bob.Users.Messages.Get("me", sent.Id).Format("metadata").MetadataHeaders("From", "Message-ID").Do()
	if err != nil {
		t.Fatal(err)
	}
	var from, msgID string
	for _, h := range got.Payload.Headers {
		switch h.Name {
		case "From":
			from = h.Value
		case "Message-ID":
			msgID = h.Value
		}
	}
	if from != "bob@example.com" || msgID == "" {
		t.Fatalf("From %q, Message-ID %q: Gmail adds both", from, msgID)
	}
	for _, mb := range []string{"alice@example.com", "carol@example.com", "nora@customer.example"} {
		m, ok := e.sim.FindByMessageID(mb, msgID)
		if !ok || !slices.Contains(m.LabelIDs, "INBOX") || slices.Contains(m.LabelIDs, "SENT") {
			t.Errorf("%s: copy %v %+v", mb, ok, m.LabelIDs)
		}
	}
	if n := len(e.sim.MessagesOf("bob@example.com")); n != 1 {
		t.Errorf("bob holds %d messages, want his sent one only", n)
	}
	// The group's copy of bob's own mail coming back later is dropped.
	e.MustDeliver(t, "Message-ID: "+msgID+"\r\nFrom: bob@example.com\r\nTo: support@example.com\r\n\r\nx\r\n", "bob@example.com")
	if n := len(e.sim.MessagesOf("bob@example.com")); n != 1 {
		t.Errorf("bob holds %d messages after the group's copy, want 1", n)
	}

	_, err = bob.Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte("Subject: nobody\r\n\r\nx"))}).Do()
	assertAPIError(t, err, http.StatusBadRequest, "badRequest")
}
