package inbox

import (
	"maps"
	"slices"
	"testing"
)

func TestMailRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    Headers
		want []string
	}{
		{"to and cc", Headers{To: "Support <Support@Example.com>, bob@example.com", Cc: "x@y.example"},
			[]string{"bob@example.com", "support@example.com", "x@y.example"}},
		{"delivered-to and x-original-to", Headers{DeliveredTo: []string{"carol@example.com", "support@example.com"}, XOriginalTo: "sales@example.com"},
			[]string{"carol@example.com", "sales@example.com", "support@example.com"}},
		{"google group list-id", Headers{ListID: "Support team <support.example.com>"}, []string{"support@example.com"}},
		{"list-id without domain", Headers{ListID: "<localonly>"}, nil},
		{"broken address keeps the good one", Headers{To: "good@example.com, <<<bad"}, []string{"good@example.com"}},
		{"undisclosed recipients", Headers{To: "undisclosed-recipients:;"}, nil},
		{"garbage", Headers{To: "\x00\xff", ListID: "<<>>", DeliveredTo: []string{"nope"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Sorted(maps.Keys(tc.h.Mail().Recipients))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Recipients = %v, want %v", got, tc.want)
			}
		})
	}
}
