package firestoredb

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postfach/postfach/internal/inbox"
)

// TestWrapKinds: callers act on the contract's error kinds, whatever
// Firestore's status says. A request whose client hung up failed with a
// gRPC Canceled that no caller recognized, and was answered and logged as
// an internal error (seen in the chaos run's logs).
func TestWrapKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code codes.Code
		want error
	}{
		{codes.NotFound, inbox.ErrNotFound},
		{codes.AlreadyExists, inbox.ErrAlreadyExists},
		{codes.Aborted, inbox.ErrUnavailable},
		{codes.Canceled, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			t.Parallel()
			err := wrap("update conversation x", status.Error(tt.code, "from the server"))
			if !errors.Is(err, tt.want) {
				t.Errorf("wrap(%v) = %v, want it to be %v", tt.code, err, tt.want)
			}
		})
	}
	if err := wrap("op", status.Error(codes.Internal, "x")); errors.Is(err, context.Canceled) || errors.Is(err, inbox.ErrUnavailable) {
		t.Errorf("an internal error took a kind: %v", err)
	}
}
