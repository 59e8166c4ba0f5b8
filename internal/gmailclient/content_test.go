package gmailclient_test

import (
	"context"
	"testing"

	"github.com/postfach/postfach/internal/gmailclient"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/inbox"
)

// TestContent reads a message's text and attachments through the real
// client against the simulator, with one messages.get each.
func TestContent(t *testing.T) {
	t.Parallel()
	sim, endpoint := simulator(t, gmailsim.Options{})
	ctx := context.Background()
	g, err := gmailclient.NewDialer(gmailclient.DialerOptions{Endpoint: endpoint, Tokens: tokens{}}).Mailbox(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  string
		want inbox.Content
	}{
		{"plain", "From: a@x.example\r\nTo: bob@example.com\r\nSubject: Hi\r\nMessage-ID: <c1@x.example>\r\n\r\nThis is URGENT.\r\n",
			inbox.Content{Text: "This is URGENT.\r\n\n"}},
		{"html only", "From: a@x.example\r\nTo: bob@example.com\r\nSubject: Hi\r\nMessage-ID: <c2@x.example>\r\nContent-Type: text/html\r\n\r\n<p>Pay the <b>invoice</b> &amp; smile</p>\r\n",
			inbox.Content{Text: " Pay the  invoice  & smile \r\n\n"}},
		{"attachment", "From: a@x.example\r\nTo: bob@example.com\r\nSubject: Hi\r\nMessage-ID: <c3@x.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n\r\n%PDF\r\n--b--\r\n",
			inbox.Content{Text: "See attached.\n", Attachment: true}},
	}
	for _, tc := range tests {
		got, err := sim.Deliver([]byte(tc.raw), "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		before, _ := sim.Usage("bob@example.com")
		c, err := g.Content(ctx, got[0].ID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c != tc.want {
			t.Errorf("%s: Content = %+q, want %+q", tc.name, c.Text, tc.want.Text)
			t.Logf("attachment %v, want %v", c.Attachment, tc.want.Attachment)
		}
		if after, _ := sim.Usage("bob@example.com"); after-before != 5 {
			t.Errorf("%s: cost %d quota units, want 5", tc.name, after-before)
		}
	}
	if c, err := g.Content(ctx, "18c9f0000000ffff"); err != nil || c != (inbox.Content{}) {
		t.Errorf("gone message: %+v, %v", c, err)
	}
}
