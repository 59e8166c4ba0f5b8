package desk_test

import (
	"testing"

	"github.com/postfach/postfach/internal/desk"
)

func TestAPIIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantMessage, wantThread string
	}{
		{"API id", "18c3a7f2b9d0e4a1", "18c3a7f2b9d0e4a1", "18c3a7f2b9d0e4a1"},
		{"msg-f", "msg-f:1788123456789012345", "18d0b0cf6073df79", "msg-f:1788123456789012345"},
		{"thread-f", "thread-f:1788123456789012345", "thread-f:1788123456789012345", "18d0b0cf6073df79"},
		{"not a number", "msg-f:notanumber", "msg-f:notanumber", "msg-f:notanumber"},
		{"thread-f, not a number", "thread-f:x1", "thread-f:x1", "thread-f:x1"},
		{"beyond 64 bits", "thread-f:18446744073709551616", "thread-f:18446744073709551616", "thread-f:18446744073709551616"},
		{"empty", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := desk.APIMessageID(tc.in); got != tc.wantMessage {
				t.Errorf("APIMessageID(%q) = %q, want %q", tc.in, got, tc.wantMessage)
			}
			if got := desk.APIThreadID(tc.in); got != tc.wantThread {
				t.Errorf("APIThreadID(%q) = %q, want %q", tc.in, got, tc.wantThread)
			}
		})
	}
}
