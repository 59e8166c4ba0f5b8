package main

import (
	"testing"

	"github.com/postfach/postfach/internal/httpapi"
)

// TestPlaygroundRateLimit: on a server that allows bob one card action
// per 100 s, his second click shows the card that asks him to slow down,
// and it offers the way back to the inboxes.
func TestPlaygroundRateLimit(t *testing.T) {
	_, p := openPlayground(t, devConfig{RateLimit: httpapi.RateLimit{Burst: 1, PerSecond: 0.01}}, "user=bob@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")

	p.Click("#pg-list", "Password reset mail never arrives") // message-open: no action
	p.WaitText("#pg-side-body", "Assign to me")
	p.Click("#pg-side-body", "Assign to me")
	p.WaitText("#pg-side-body", "Unassign")
	p.Click("#pg-side-body", "Mark pending")
	p.WaitText("#pg-side-body", "You are going too fast")
	p.WaitText("#pg-side-body", "try again in") // in up to 100 s: the clock is real
	p.WaitText("#pg-side-body", "Back to my inboxes")
}
