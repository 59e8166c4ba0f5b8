package addon

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Payloads modelled on the examples in shared/docs/addon-protocol.md §1.
const (
	homepagePayload = `{
  "commonEventObject": { "hostApp": "GMAIL", "platform": "WEB", "userLocale": "en-US",
                         "timeZone": { "id": "America/New_York", "offset": -18000000 } },
  "authorizationEventObject": { "userOAuthToken": "ya29.a0", "userIdToken": "eyJ.user", "systemIdToken": "eyJ.system",
                                "authorizedScopes": ["https://www.googleapis.com/auth/gmail.addons.execute"] }
}`
	contextualPayload = `{
  "commonEventObject": { "hostApp": "GMAIL", "platform": "WEB" },
  "authorizationEventObject": { "userOAuthToken": "ya29...", "systemIdToken": "eyJhbGc...", "userIdToken": "jaaa45..." },
  "gmail": { "messageId": "msg-f:1234567", "threadId": "thread-f:2345678", "accessToken": "xedf241..." }
}`
	actionPayload = `{
  "commonEventObject": {
    "userLocale": "en-US", "hostApp": "GMAIL", "platform": "WEB",
    "timeZone": { "id": "America/Los_Angeles", "offset": -28800000 },
    "parameters": { "op": "assign", "ticketId": "T-1042" },
    "formInputs": {
      "assignee": { "stringInputs": { "value": ["bob@acme-support.example"] } },
      "tags":     { "stringInputs": { "value": ["billing", "vip"] } },
      "empty":    { "stringInputs": { "value": [] } },
      "dueDate":  { "dateInput": { "msSinceEpoch": 1767225600000 } },
      "followUpAt": { "dateTimeInput": { "msSinceEpoch": 1767258000000, "hasDate": true, "hasTime": true } },
      "remindTime": { "timeInput": { "hours": 9, "minutes": 30 } }
    }
  },
  "authorizationEventObject": { "userOAuthToken": "ya29…", "userIdToken": "eyJ…", "systemIdToken": "eyJ…",
                                "authorizedScopes": ["https://www.googleapis.com/auth/gmail.addons.execute", "…"] },
  "gmail": { "messageId": "msg-f:1788123456789012345", "threadId": "thread-f:1788123456789012345", "accessToken": "…" }
}`
	composePayload = `{
  "commonEventObject": { "hostApp": "GMAIL", "platform": "WEB" },
  "authorizationEventObject": { "userOAuthToken": "ya29.c", "userIdToken": "u", "systemIdToken": "s" },
  "gmail": { "toRecipients": ["dana@customer.example"], "ccRecipients": [], "bccRecipients": ["audit@acme-support.example"] }
}`
	// Chat-hosted payload from a public log: offset as a float in exponent
	// form, plus host objects this package does not model.
	chatLogPayload = `{"commonEventObject":{"userLocale":"en","hostApp":"CHAT","platform":"WEB",
  "timeZone":{"id":"America/Los_Angeles","offset":-2.88E7}},
  "chat":{"user":{"name":"users/1"}},"calendar":{},
  "authorizationEventObject":{"systemIdToken":"eyJ.x.y"}}`
)

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Event
	}{
		{
			name: "homepage",
			in:   homepagePayload,
			want: &Event{
				Common: CommonEvent{HostApp: "GMAIL", Platform: "WEB", UserLocale: "en-US",
					TimeZone: &TimeZone{ID: "America/New_York", Offset: -18000000}},
				Auth: AuthorizationEvent{UserOAuthToken: "ya29.a0", UserIDToken: "eyJ.user", SystemIDToken: "eyJ.system",
					AuthorizedScopes: []string{"https://www.googleapis.com/auth/gmail.addons.execute"}},
			},
		},
		{
			name: "contextual",
			in:   contextualPayload,
			want: &Event{
				Common: CommonEvent{HostApp: "GMAIL", Platform: "WEB"},
				Auth:   AuthorizationEvent{UserOAuthToken: "ya29...", SystemIDToken: "eyJhbGc...", UserIDToken: "jaaa45..."},
				Gmail:  &GmailEvent{MessageID: "msg-f:1234567", ThreadID: "thread-f:2345678", AccessToken: "xedf241..."},
			},
		},
		{
			name: "action",
			in:   actionPayload,
			want: &Event{
				Common: CommonEvent{
					UserLocale: "en-US", HostApp: "GMAIL", Platform: "WEB",
					TimeZone:   &TimeZone{ID: "America/Los_Angeles", Offset: -28800000},
					Parameters: map[string]string{"op": "assign", "ticketId": "T-1042"},
					FormInputs: map[string]FormInput{
						"assignee":   {StringInputs: &StringInputs{Value: []string{"bob@acme-support.example"}}},
						"tags":       {StringInputs: &StringInputs{Value: []string{"billing", "vip"}}},
						"empty":      {StringInputs: &StringInputs{Value: []string{}}},
						"dueDate":    {DateInput: &DateInput{MsSinceEpoch: 1767225600000}},
						"followUpAt": {DateTimeInput: &DateTimeInput{MsSinceEpoch: 1767258000000, HasDate: true, HasTime: true}},
						"remindTime": {TimeInput: &TimeInput{Hours: 9, Minutes: 30}},
					},
				},
				Auth: AuthorizationEvent{UserOAuthToken: "ya29…", UserIDToken: "eyJ…", SystemIDToken: "eyJ…",
					AuthorizedScopes: []string{"https://www.googleapis.com/auth/gmail.addons.execute", "…"}},
				Gmail: &GmailEvent{MessageID: "msg-f:1788123456789012345", ThreadID: "thread-f:1788123456789012345", AccessToken: "…"},
			},
		},
		{
			name: "compose",
			in:   composePayload,
			want: &Event{
				Common: CommonEvent{HostApp: "GMAIL", Platform: "WEB"},
				Auth:   AuthorizationEvent{UserOAuthToken: "ya29.c", UserIDToken: "u", SystemIDToken: "s"},
				Gmail: &GmailEvent{ToRecipients: []string{"dana@customer.example"}, CcRecipients: []string{},
					BccRecipients: []string{"audit@acme-support.example"}},
			},
		},
		{
			name: "float offset and unknown host objects",
			in:   chatLogPayload,
			want: &Event{
				Common: CommonEvent{UserLocale: "en", HostApp: "CHAT", Platform: "WEB",
					TimeZone: &TimeZone{ID: "America/Los_Angeles", Offset: -28800000}},
				Auth: AuthorizationEvent{SystemIDToken: "eyJ.x.y"},
			},
		},
		{
			name: "numbers as strings",
			in: `{"commonEventObject":{"timeZone":{"id":"UTC","offset":"-2.88E7"},"formInputs":{
				"d":{"dateInput":{"msSinceEpoch":"1767225600000"}},
				"t":{"timeInput":{"hours":"9","minutes":" 30 "}}}}}`,
			want: &Event{Common: CommonEvent{
				TimeZone: &TimeZone{ID: "UTC", Offset: -28800000},
				FormInputs: map[string]FormInput{
					"d": {DateInput: &DateInput{MsSinceEpoch: 1767225600000}},
					"t": {TimeInput: &TimeInput{Hours: 9, Minutes: 30}},
				},
			}},
		},
		{
			name: "prose spelling userOauthToken",
			in:   `{"authorizationEventObject":{"userOauthToken":"ya29.alt","userIdToken":"u"}}`,
			want: &Event{Auth: AuthorizationEvent{UserOAuthToken: "ya29.alt", UserIDToken: "u"}},
		},
		{
			name: "both spellings: schema spelling wins",
			in:   `{"authorizationEventObject":{"userOauthToken":"ya29.alt","userOAuthToken":"ya29.main"}}`,
			want: &Event{Auth: AuthorizationEvent{UserOAuthToken: "ya29.main"}},
		},
		{
			name: "empty object",
			in:   " {} \n",
			want: &Event{},
		},
		{
			name: "nulls for optional objects",
			in:   `{"commonEventObject":{"timeZone":null,"formInputs":null},"authorizationEventObject":null,"gmail":null}`,
			want: &Event{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEvent([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseEvent mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEventErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"nil", "", "empty body"},
		{"whitespace", " \n\t", "empty body"},
		{"array", `[{"commonEventObject":{}}]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"string", `"hello"`, "not a JSON object"},
		{"number", `42`, "not a JSON object"},
		{"not json", `hostApp=GMAIL`, "not a JSON object"},
		{"truncated", `{"commonEventObject":{"hostApp":"GMAIL"`, "unexpected end"},
		{"trailing garbage", `{"commonEventObject":{}} {}`, "invalid character"},
		{"wrong-typed common", `{"commonEventObject":"GMAIL"}`, "cannot unmarshal"},
		{"wrong-typed gmail", `{"gmail":[]}`, "cannot unmarshal"},
		{"wrong-typed parameters", `{"commonEventObject":{"parameters":{"op":1}}}`, "cannot unmarshal"},
		{"wrong-typed auth", `{"authorizationEventObject":{"userOAuthToken":7}}`, "cannot unmarshal"},
		{"bool offset", `{"commonEventObject":{"timeZone":{"offset":true}}}`, "invalid number"},
		{"word offset", `{"commonEventObject":{"timeZone":{"offset":"soon"}}}`, "invalid number"},
		{"huge offset", `{"commonEventObject":{"timeZone":{"offset":1e300}}}`, "out of range"},
		{"NaN string", `{"commonEventObject":{"timeZone":{"offset":"NaN"}}}`, "invalid number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseEvent([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseEvent(%q) = %+v, want error containing %q", tc.in, ev, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "parse event: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want prefix %q and substring %q", err, "parse event: ", tc.wantErr)
			}
		})
	}
}

func TestInt64(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Int64
		wantErr bool
	}{
		{in: `0`, want: 0},
		{in: `-28800000`, want: -28800000},
		{in: `-2.88E7`, want: -28800000},
		{in: `1.767225600000e12`, want: 1767225600000},
		{in: `9223372036854775807`, want: 9223372036854775807},
		{in: `-9223372036854775808`, want: -9223372036854775808},
		{in: `"1767225600000"`, want: 1767225600000},
		{in: `"-2.88E7"`, want: -28800000},
		{in: `12.9`, want: 12},
		{in: `-12.9`, want: -12},
		{in: `null`, want: 0},
		{in: `""`, want: 0},
		{in: `9223372036854775808`, wantErr: true},
		{in: `9.3e18`, wantErr: true},
		{in: `"Infinity"`, wantErr: true},
		{in: `"0x10"`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `[1]`, wantErr: true},
		{in: `{}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			var got Int64
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %d, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Unmarshal(%s) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestCommonEventAccessors(t *testing.T) {
	t.Parallel()
	ev, err := ParseEvent([]byte(actionPayload))
	if err != nil {
		t.Fatal(err)
	}
	c := ev.Common
	if got, want := c.Param("ticketId"), "T-1042"; got != want {
		t.Errorf("Param(ticketId) = %q, want %q", got, want)
	}
	if got := c.Param("missing"); got != "" {
		t.Errorf("Param(missing) = %q, want empty", got)
	}
	if got, want := c.FormValue("assignee"), "bob@acme-support.example"; got != want {
		t.Errorf("FormValue(assignee) = %q, want %q", got, want)
	}
	if got, want := c.FormValue("tags"), "billing"; got != want {
		t.Errorf("FormValue(tags) = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"billing", "vip"}, c.FormValues("tags")); diff != "" {
		t.Errorf("FormValues(tags) (-want +got):\n%s", diff)
	}
	for _, name := range []string{"empty", "dueDate", "missing"} {
		if got := c.FormValue(name); got != "" {
			t.Errorf("FormValue(%s) = %q, want empty", name, got)
		}
		if got := c.FormValues(name); len(got) != 0 {
			t.Errorf("FormValues(%s) = %q, want empty", name, got)
		}
	}
	if got, want := c.FormInputs["dueDate"].DateInput.Time(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("dueDate = %v, want %v", got, want)
	}
	if got, want := c.FormInputs["followUpAt"].DateTimeInput.Time(), time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("followUpAt = %v, want %v", got, want)
	}

	var zero CommonEvent
	if zero.Param("x") != "" || zero.FormValue("x") != "" || zero.FormValues("x") != nil {
		t.Error("accessors on zero CommonEvent must return empty values")
	}
}

// TestEventJSONRoundTrip checks that Event.JSON produces what ParseEvent
// reads back, with Google's field names.
func TestEventJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{homepagePayload, contextualPayload, actionPayload, composePayload, chatLogPayload} {
		ev, err := ParseEvent([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ev.JSON()
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{`"commonEventObject"`, `"authorizationEventObject"`} {
			if !strings.Contains(string(b), field) {
				t.Errorf("JSON() = %s, missing %s", b, field)
			}
		}
		if ev.Auth.UserOAuthToken != "" && !strings.Contains(string(b), `"userOAuthToken"`) {
			t.Errorf("JSON() = %s, want userOAuthToken spelling", b)
		}
		back, err := ParseEvent(b)
		if err != nil {
			t.Fatalf("ParseEvent(JSON()): %v", err)
		}
		if diff := cmp.Diff(ev, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		homepagePayload, contextualPayload, actionPayload, composePayload, chatLogPayload,
		`{}`, `null`, `[]`, `{"commonEventObject":{"timeZone":{"offset":"1e5"}}}`,
		`{"authorizationEventObject":{"userOauthToken":"x"}}`,
		`{"commonEventObject":{"formInputs":{"a":{"dateTimeInput":{"msSinceEpoch":"-1.5"}}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseEvent(b)
		if err != nil {
			if ev != nil {
				t.Fatalf("ParseEvent returned both an event and error %v", err)
			}
			return
		}
		// Whatever parses must survive an encode/decode round trip.
		out, err := ev.JSON()
		if err != nil {
			t.Fatalf("JSON() after successful parse: %v", err)
		}
		back, err := ParseEvent(out)
		if err != nil {
			t.Fatalf("ParseEvent(JSON()) = %v for %s", err, out)
		}
		if diff := cmp.Diff(ev, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
		_ = ev.Common.FormValue("a")
		_ = ev.Common.FormValues("a")
		_ = ev.Common.Param("a")
	})
}
