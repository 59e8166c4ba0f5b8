package desk

import (
	"maps"
	"slices"
	"testing"
)

func TestRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    MessageHeaders
		want []string
	}{
		{"to and cc", MessageHeaders{To: "Support <Support@Example.com>, bob@example.com", Cc: "x@y.example"},
			[]string{"bob@example.com", "support@example.com", "x@y.example"}},
		{"delivered-to and x-original-to", MessageHeaders{DeliveredTo: []string{"carol@example.com", "support@example.com"}, XOriginalTo: "sales@example.com"},
			[]string{"carol@example.com", "sales@example.com", "support@example.com"}},
		{"google group list-id", MessageHeaders{ListID: "Support team <support.example.com>"}, []string{"support@example.com"}},
		{"list-id without domain", MessageHeaders{ListID: "<localonly>"}, nil},
		{"broken address keeps the good one", MessageHeaders{To: "good@example.com, <<<bad"}, []string{"good@example.com"}},
		{"undisclosed recipients", MessageHeaders{To: "undisclosed-recipients:;"}, nil},
		{"garbage", MessageHeaders{To: "\x00\xff", ListID: "<<>>", DeliveredTo: []string{"nope"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := slices.Sorted(maps.Keys(Recipients(tc.h)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Recipients = %v, want %v", got, tc.want)
			}
		})
	}
}
