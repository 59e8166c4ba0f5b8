package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParsePush feeds Pub/Sub push bodies to parsePush, the only parsing
// the push handler does before it records anything (Syncer.Notify). A
// malformed body is an error with nothing else returned, so the handler
// has nothing to act on; an accepted one names a mailbox (valid UTF-8,
// trimmed, lower case, with an @) and a history id above 0, and reads the
// same when Gmail's notification is written out again.
func FuzzParsePush(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString
	body := func(data string) []byte {
		return []byte(`{"message":{"data":"` + data + `","messageId":"1"},"subscription":"projects/p/subscriptions/s"}`)
	}
	for _, seed := range [][]byte{
		body(b64([]byte(`{"emailAddress":"support@example.com","historyId":"4242"}`))),
		body(b64([]byte(`{"emailAddress":"Support@Example.com ","historyId":4242}`))),
		body(base64.RawURLEncoding.EncodeToString([]byte(`{"emailAddress":"a@b","historyId":"18446744073709551615"}`))),
		body(b64([]byte(`{"emailAddress":"a@b","historyId":"18446744073709551616"}`))),
		body(b64([]byte(`{"emailAddress":"a@b","historyId":"0"}`))),
		body(b64([]byte(`{"emailAddress":"a@b","historyId":"-1"}`))),
		body(b64([]byte(`{"emailAddress":"a@b","historyId":1e3}`))),
		body(b64([]byte(`{"emailAddress":"\u202eevil@example.com","historyId":"1"}`))),
		body(b64([]byte("{\"emailAddress\":\"a\xff@b\",\"historyId\":\"1\"}"))),
		body(b64([]byte(`{"emailAddress":"a\u0000@b","historyId":"1"}`))),
		body(b64([]byte(`{"emailAddress":"\ud800@b","historyId":"1"}`))),
		body(b64([]byte(`{"emailAddress":"nobody","historyId":"1"}`))),
		body(b64([]byte(`{"emailAddress":"a@b","historyId":"\"1\""}`))),
		body(b64([]byte(`{"emailAddress":"a@b","historyId":null}`))),
		body(b64([]byte(`[]`))),
		body("not base64!"),
		body(""),
		[]byte(`{"message":null}`),
		[]byte(`{"message":{"data":42}}`),
		[]byte(`{}`),
		[]byte(``),
		[]byte(`null`),
		[]byte("{\"message\":{\"data\":\"" + strings.Repeat("A", 4096) + "\"}}"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		mailbox, hid, err := parsePush(body)
		if err != nil {
			if mailbox != "" || hid != 0 {
				t.Fatalf("parsePush(%q) = %q, %d with error %v: a refused body must yield nothing", body, mailbox, hid, err)
			}
			return
		}
		if hid == 0 {
			t.Fatalf("parsePush(%q) accepted history id 0", body)
		}
		if !utf8.ValidString(mailbox) || !strings.Contains(mailbox, "@") ||
			mailbox != strings.ToLower(mailbox) || mailbox != strings.TrimSpace(mailbox) {
			t.Fatalf("parsePush(%q) accepted mailbox %q", body, mailbox)
		}
		// The notification written out again reads the same.
		data, err := json.Marshal(map[string]string{"emailAddress": mailbox, "historyId": strconv.FormatUint(hid, 10)})
		if err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(map[string]any{"message": map[string]string{"data": base64.StdEncoding.EncodeToString(data)}})
		if err != nil {
			t.Fatal(err)
		}
		m2, h2, err := parsePush(again)
		if err != nil || m2 != mailbox || h2 != hid {
			t.Fatalf("parsePush(%q) = %q, %d; written out again it reads %q, %d, %v", body, mailbox, hid, m2, h2, err)
		}
	})
}
