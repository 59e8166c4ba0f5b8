package gmailsim_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/gmail/v1"

	"github.com/postfach/postfach/internal/gmailsim"
)

// sendAsView is the part of a SendAs resource the tests compare.
type sendAsView struct {
	Email, Name, ReplyTo, Status string
	Primary, Default             bool
}

func viewSendAs(a *gmail.SendAs) sendAsView {
	return sendAsView{Email: a.SendAsEmail, Name: a.DisplayName, ReplyTo: a.ReplyToAddress,
		Status: a.VerificationStatus, Primary: a.IsPrimary, Default: a.IsDefault}
}

// TestSendAsListGet: the primary address is always there; aliases follow
// in the order added; one default; get is 404 for other addresses.
func TestSendAsListGet(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "bob@acme.test")
	bob := env.MustClient(t, "bob@acme.test")
	list := func() []sendAsView {
		t.Helper()
		r, err := bob.Users.Settings.SendAs.List("me").Do()
		if err != nil {
			t.Fatal(err)
		}
		var out []sendAsView
		for _, a := range r.SendAs {
			out = append(out, viewSendAs(a))
		}
		return out
	}
	primary := sendAsView{Email: "bob@acme.test", Primary: true, Default: true}
	if diff := cmp.Diff([]sendAsView{primary}, list()); diff != "" {
		t.Errorf("fresh mailbox (-want +got):\n%s", diff)
	}

	must := func(a gmailsim.SendAs) {
		t.Helper()
		if err := env.sim.AddSendAs("bob@acme.test", a); err != nil {
			t.Fatal(err)
		}
	}
	must(gmailsim.SendAs{SendAsEmail: "Support@acme.test", DisplayName: "ACME Support", ReplyToAddress: "support@acme.test", IsDefault: true})
	must(gmailsim.SendAs{SendAsEmail: "sales@acme.test", VerificationStatus: gmailsim.VerificationPending})
	must(gmailsim.SendAs{SendAsEmail: "bob@acme.test", DisplayName: "Bob"})
	want := []sendAsView{
		{Email: "bob@acme.test", Name: "Bob", Primary: true},
		{Email: "support@acme.test", Name: "ACME Support", ReplyTo: "support@acme.test", Status: "accepted", Default: true},
		{Email: "sales@acme.test", Status: "pending"},
	}
	if diff := cmp.Diff(want, list()); diff != "" {
		t.Errorf("with aliases (-want +got):\n%s", diff)
	}

	got, err := bob.Users.Settings.SendAs.Get("me", "SUPPORT@acme.test").Do()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[1], viewSendAs(got)); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	_, err = bob.Users.Settings.SendAs.Get("me", "nobody@acme.test").Do()
	assertAPIError(t, err, http.StatusNotFound, "notFound")

	// Replacing the default alias with a non-default one hands the default
	// back to the primary address.
	must(gmailsim.SendAs{SendAsEmail: "support@acme.test"})
	if l := list(); !l[0].Default || l[1].Default {
		t.Errorf("default not back on the primary: %+v", l)
	}

	units, requests := env.sim.Usage("bob@acme.test")
	if units != int64(requests["settings.sendAs.list"]+requests["settings.sendAs.get"]) || requests["settings.sendAs.get"] != 2 {
		t.Errorf("charged %d units for %v, want 1 per call", units, requests)
	}
}

func TestAddSendAsErrors(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "bob@acme.test")
	for name, tc := range map[string]struct {
		mailbox string
		alias   gmailsim.SendAs
		want    error
	}{
		"unknown mailbox": {"nobody@acme.test", gmailsim.SendAs{SendAsEmail: "a@acme.test"}, gmailsim.ErrUnknownMailbox},
		"no address":      {"bob@acme.test", gmailsim.SendAs{}, gmailsim.ErrInvalidSendAs},
		"bad status":      {"bob@acme.test", gmailsim.SendAs{SendAsEmail: "a@acme.test", VerificationStatus: "maybe"}, gmailsim.ErrInvalidSendAs},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := env.sim.AddSendAs(tc.mailbox, tc.alias); !errors.Is(err, tc.want) {
				t.Errorf("AddSendAs = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSendFrom: messages.send and drafts.send keep a From that is the
// sender's own address or an accepted alias (adding the alias's Reply-To),
// and replace any other From address with the sender's, keeping the name.
// Recipients get the mail as sent.
func TestSendFrom(t *testing.T) {
	t.Parallel()
	env := MustStart(t, gmailsim.Options{}, "bob@acme.test", "nora@customer.example")
	for _, a := range []gmailsim.SendAs{
		{SendAsEmail: "support@acme.test", DisplayName: "ACME Support", ReplyToAddress: "help@acme.test"},
		{SendAsEmail: "sales@acme.test", VerificationStatus: gmailsim.VerificationPending},
	} {
		if err := env.sim.AddSendAs("bob@acme.test", a); err != nil {
			t.Fatal(err)
		}
	}
	bob := env.MustClient(t, "bob@acme.test")
	tests := []struct {
		name, header, wantFrom, wantReplyTo string
	}{
		{"own address", "From: Bob <bob@acme.test>\r\n", "Bob <bob@acme.test>", ""},
		{"accepted alias", "From: ACME Support <support@acme.test>\r\n", "ACME Support <support@acme.test>", "help@acme.test"},
		{"alias with own Reply-To", "From: support@acme.test\r\nReply-To: other@acme.test\r\n", "support@acme.test", "other@acme.test"},
		{"pending alias", "From: Sales <sales@acme.test>\r\n", `"Sales" <bob@acme.test>`, ""},
		{"foreign address", "From: \"Doe, Jane\" <ceo@acme.test>\r\n", `"Doe, Jane" <bob@acme.test>`, ""},
		{"encoded name", "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@acme.test>\r\n", "Jürgen <bob@acme.test>", ""},
		{"no From", "", "bob@acme.test", ""},
	}
	for _, tc := range tests {
		for _, viaDraft := range []bool{false, true} {
			name := tc.name + "/messages.send"
			if viaDraft {
				name = tc.name + "/drafts.send"
			}
			t.Run(name, func(t *testing.T) {
				raw := tc.header + "To: nora@customer.example\r\nSubject: " + name + "\r\n\r\nx\r\n"
				var sent *gmail.Message
				var err error
				if viaDraft {
					d := mustCreateDraft(t, bob, raw, "")
					sent, err = bob.Users.Drafts.Send("me", &gmail.Draft{Id: d.Id}).Do()
				} else {
					sent, err = bob.Users.Messages.Send("me", &gmail.Message{Raw: base64.URLEncoding.EncodeToString([]byte(raw))}).Do()
				}
				if err != nil {
					t.Fatal(err)
				}
				m, err := bob.Users.Messages.Get("me", sent.Id).Format("metadata").Do()
				if err != nil {
					t.Fatal(err)
				}
				if got := header(m, "From"); got != tc.wantFrom {
					t.Errorf("From %q, want %q", got, tc.wantFrom)
				}
				if got := header(m, "Reply-To"); got != tc.wantReplyTo {
					t.Errorf("Reply-To %q, want %q", got, tc.wantReplyTo)
				}
				c, ok := env.sim.FindByMessageID("nora@customer.example", header(m, "Message-ID"))
				if !ok {
					t.Fatal("nora got no copy")
				}
				if cm, err := env.MustClient(t, "nora@customer.example").Users.Messages.Get("me", c.ID).Format("metadata").Do(); err != nil || header(cm, "From") != tc.wantFrom {
					t.Errorf("nora's copy: %v", err)
				}
			})
		}
	}
}
