package httpapi

import (
	"encoding/base64"
	"math"
	"testing"
)

// TestParsePushHistoryID: a historyId is a uint64, as a JSON string or
// number; anything else is refused (the push is answered 400). A huge but
// valid one is accepted here: the syncer bounds it by Gmail's own history
// id.
func TestParsePushHistoryID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, historyID string
		want            uint64
		ok              bool
	}{
		{"string", `"12345"`, 12345, true},
		{"number", `12345`, 12345, true},
		{"largest uint64", `"18446744073709551615"`, math.MaxUint64, true},
		{"past uint64", `"18446744073709551616"`, 0, false},
		{"negative", `"-1"`, 0, false},
		{"zero", `"0"`, 0, false},
		{"exponent", `1e3`, 0, false},
		{"fraction", `1.5`, 0, false},
		{"not a number", `"abc"`, 0, false},
		{"signed", `"+5"`, 0, false},
		{"missing", `null`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := base64.StdEncoding.EncodeToString([]byte(`{"emailAddress":"bob@example.com","historyId":` + tc.historyID + `}`))
			mailbox, got, err := parsePush([]byte(`{"message":{"data":"` + data + `","messageId":"1"},"subscription":"s"}`))
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parsePush = %d, %v; want %d, ok %v", got, err, tc.want, tc.ok)
			}
			if tc.ok && mailbox != "bob@example.com" {
				t.Errorf("mailbox = %q", mailbox)
			}
		})
	}
}
