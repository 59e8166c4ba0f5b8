package demo

import (
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	carol = "carol@example.com"
	dave  = "dave@example.com"
	eve   = "eve@other.example"
)

// Threads are the demo conversations.
var Threads = []Thread{
	{Inbox: "support", Slug: "refund-4411", Subject: "Refund for order #4411", From: "Dana Fischer <dana@fischer-design.example>",
		Mails:  []Mail{{Ago: 3 * time.Minute, Body: "Hi,\nI was charged twice for order #4411. Could you refund one of the charges?\n\nThanks, Dana"}},
		Status: inbox.StatusOpen},
	{Inbox: "support", Slug: "login-loop", Subject: "Can't log in — keeps redirecting", From: "Marco Rossi <marco@rossi-bau.example>",
		Mails: []Mail{
			{Ago: 2 * time.Hour, Body: "After the update the login page sends me back to itself. Chrome on Windows."},
			{Ago: 90 * time.Minute, ByTeam: bob, Body: "Hi Marco, could you try clearing cookies for our domain and tell me if it persists?"},
			{Ago: 20 * time.Minute, Body: "Cleared them, still the same loop."},
		},
		Assignee: bob, Status: inbox.StatusOpen, Tags: []string{"bug", "login"},
		Notes: []Note{{By: bob, Body: "Looks like the SameSite cookie change from Tuesday. Asked eng in #incidents."}}},
	{Inbox: "support", Slug: "invoice-pdf", Subject: "Invoice PDF is blank", From: "Accounts Payable <ap@nordwind.example>",
		Mails: []Mail{
			{Ago: 26 * time.Hour, Body: "The PDF for invoice INV-2025-118 opens as an empty page."},
			{Ago: 25 * time.Hour, ByTeam: carol, Body: "Sorry about that! I've attached a fresh copy. Does this one open?"},
		},
		Assignee: carol, Status: inbox.StatusPending, Tags: []string{"billing"}},
	{Inbox: "support", Slug: "export-csv", Subject: "Export to CSV misses the last column", From: "Priya Natarajan <priya@lumen-labs.example>",
		Mails:  []Mail{{Ago: 45 * time.Minute, Body: "When I export the report, the 'Region' column is missing from the CSV."}},
		Status: inbox.StatusOpen, Tags: []string{"bug"}},
	{Inbox: "support", Slug: "password-reset", Subject: "Password reset mail never arrives", From: "Tom Becker <tom.becker@webmail.example>",
		Mails:  []Mail{{Ago: 5 * time.Hour, Body: "I requested a reset three times, nothing in inbox or spam."}},
		Status: inbox.StatusOpen},
	{Inbox: "support", Slug: "feature-dark-mode", Subject: "Feature request: dark mode", From: "Lena Park <lena@parkstudio.example>",
		Mails: []Mail{
			{Ago: 72 * time.Hour, Body: "Any plans for a dark theme? My eyes would thank you."},
			{Ago: 70 * time.Hour, ByTeam: alice, Body: "It's on our roadmap for spring — I've added your vote!"},
		},
		Assignee: alice, Status: inbox.StatusClosed, Tags: []string{"feature-request"}},
	{Inbox: "support", Slug: "api-429", Subject: "API returns 429 at 10 requests/min", From: "DevOps <devops@quantforge.example>",
		Mails:    []Mail{{Ago: 8 * time.Hour, Body: "Our integration gets HTTP 429 although we stay far below the documented limit."}},
		Assignee: carol, Status: inbox.StatusOpen, Tags: []string{"api", "vip"},
		Notes: []Note{{By: carol, Body: "Enterprise plan — limits should be 600/min. Checking their key's tier."}, {By: alice, Body: "@carol please keep me posted, they renew next month."}}},
	{Inbox: "support", Slug: "cancel-sub", Subject: "Please cancel my subscription", From: "Georg Huber <georg@huber-family.example>",
		Mails: []Mail{
			{Ago: 50 * time.Hour, Body: "Please cancel at the end of this billing period."},
			{Ago: 49 * time.Hour, ByTeam: bob, Body: "Done — you'll keep access until the 31st. Sorry to see you go!"},
		},
		Assignee: bob, Status: inbox.StatusClosed, Tags: []string{"billing", "churn"}},
	{Inbox: "support", Slug: "sso-saml", Subject: "SAML SSO setup with Okta", From: "IT Team <it@brightline.example>",
		Mails:  []Mail{{Ago: 30 * time.Minute, Body: "We'd like to enable SSO via Okta. Which ACS URL should we use?"}},
		Status: inbox.StatusOpen},
	{Inbox: "support", Slug: "mobile-crash", Subject: "iOS app crashes on launch", From: "Sofia Alvarez <sofia@alvarez.example>",
		Mails: []Mail{
			{Ago: 6 * time.Hour, Body: "Since version 5.2 the app closes immediately on my iPhone 13."},
			{Ago: 5 * time.Hour, ByTeam: carol, Body: "Thanks Sofia — could you send us the crash log from Settings > Privacy > Analytics?"},
			{Ago: 10 * time.Minute, Body: "Here it is (attached). Happens every time."},
		},
		Assignee: carol, Status: inbox.StatusOpen, Tags: []string{"bug", "mobile"}},
	{Inbox: "support", Slug: "gdpr-export", Subject: "GDPR data export request", From: "Jan de Vries <jan@devries.example>",
		Mails:  []Mail{{Ago: 28 * time.Hour, Body: "Under Art. 15 GDPR I request a copy of all data you hold about me."}},
		Status: inbox.StatusOpen, Tags: []string{"legal"}},
	{Inbox: "support", Slug: "thank-you", Subject: "Thanks for the quick help!", From: "Ana Costa <ana@costa.example>",
		Mails:    []Mail{{Ago: 4 * 24 * time.Hour, Body: "Just wanted to say thanks to Bob for sorting out my account."}},
		Assignee: bob, Status: inbox.StatusClosed},
	{Inbox: "support", Slug: "webhook-retry", Subject: "Webhook retries flood our endpoint", From: "Platform <platform@shipfast.example>",
		Mails:  []Mail{{Ago: 12 * time.Minute, Body: "We received the same webhook 40 times in a minute. Is there a backoff?"}},
		Status: inbox.StatusOpen, Tags: []string{"api"}},

	{Inbox: "sales", Slug: "quote-50-seats", Subject: "Quote for 50 seats", From: "Procurement <buy@hanse-logistik.example>",
		Mails:  []Mail{{Ago: 40 * time.Minute, Body: "Could you send us a quote for 50 seats, annual billing?"}},
		Status: inbox.StatusOpen},
	{Inbox: "sales", Slug: "demo-request", Subject: "Demo next week?", From: "Olivia Brown <olivia@brownco.example>",
		Mails: []Mail{
			{Ago: 30 * time.Hour, Body: "We'd love a demo for our team of 12. Tuesday or Wednesday?"},
			{Ago: 29 * time.Hour, ByTeam: dave, Body: "Wednesday 10:00 CET works — invite is on its way."},
		},
		Assignee: dave, Status: inbox.StatusPending, Tags: []string{"demo"}},
	{Inbox: "sales", Slug: "nonprofit", Subject: "Nonprofit discount?", From: "Kai Müller <kai@tierheim.example>",
		Mails:  []Mail{{Ago: 3 * time.Hour, Body: "We're a registered animal shelter. Do you offer nonprofit pricing?"}},
		Status: inbox.StatusOpen},
	{Inbox: "sales", Slug: "renewal-acme", Subject: "Renewal terms for 2027", From: "Finance <finance@acme-tools.example>",
		Mails:    []Mail{{Ago: 5 * 24 * time.Hour, Body: "Please send the renewal terms for next year."}},
		Assignee: alice, Status: inbox.StatusClosed, Tags: []string{"renewal"},
		Notes: []Note{{By: alice, Body: "Sent 8% uplift offer, signed."}}},
	{Inbox: "sales", Slug: "reseller", Subject: "Becoming a reseller", From: "Partner Desk <partners@itnordic.example>",
		Mails:  []Mail{{Ago: 7 * time.Hour, Body: "We resell SaaS in the Nordics and would like to add you to our catalogue."}},
		Status: inbox.StatusOpen},
	{Inbox: "sales", Slug: "security-questionnaire", Subject: "Security questionnaire", From: "Compliance <security@medibook.example>",
		Mails:    []Mail{{Ago: 2 * 24 * time.Hour, Body: "Attached is our vendor security questionnaire, due Friday."}},
		Assignee: dave, Status: inbox.StatusOpen, Tags: []string{"security"}},

	{Inbox: "help", Slug: "other-shipping", Subject: "Where is my parcel?", From: "Ben Okafor <ben@okafor.example>",
		Mails:  []Mail{{Ago: 15 * time.Minute, Body: "Tracking hasn't updated in 5 days."}},
		Status: inbox.StatusOpen},
	{Inbox: "help", Slug: "other-warranty", Subject: "Warranty claim", From: "Yuki Tanaka <yuki@tanaka.example>",
		Mails: []Mail{
			{Ago: 20 * time.Hour, Body: "My blender stopped working after 3 months."},
			{Ago: 19 * time.Hour, ByTeam: eve, Body: "Sorry to hear that! Please send a photo of the receipt."},
		},
		Assignee: eve, Status: inbox.StatusPending},
	{Inbox: "help", Slug: "other-address", Subject: "Change delivery address", From: "Chris Lee <chris@lee.example>",
		Mails:    []Mail{{Ago: 3 * 24 * time.Hour, Body: "Please ship order 7781 to my office instead."}},
		Assignee: eve, Status: inbox.StatusClosed},
}
