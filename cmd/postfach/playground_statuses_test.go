package main

import "testing"

// TestPlaygroundStatuses: alice, an admin, defines the status "Waiting on
// supplier" in Support's settings, sets a mail's conversation to it on its
// message card, and the thread shows the status's label.
func TestPlaygroundStatuses(t *testing.T) {
	_, p := openPlayground(t, devConfig{}, "user=alice@example.com")
	p.WaitText("#pg-side-body", "Support · support@example.com")

	p.Click(".pg-side-head", "⋮")
	p.Click("#pg-side-menu-list", "Settings")
	p.WaitText("#pg-side-body", "support@example.com")
	p.Click("#pg-side-body", "support@example.com")
	p.WaitText("#pg-side-body", "Statuses")
	p.Click("#pg-side-body", "Statuses")
	p.WaitText("#pg-side-body", "New status")
	p.Type("#pg-side-body", "status_name", "Waiting on supplier")
	p.Click("#pg-side-body", "Add")
	p.WaitText("#pg-toast", "Status “Waiting on supplier” added")

	p.WaitText("#pg-list", "Refund for order #4411")
	p.Click("#pg-list", "Refund for order #4411")
	p.WaitText("#pg-side-body", "Waiting on supplier")
	p.Click("#pg-side-body", "Waiting on supplier")
	p.WaitText("#pg-side-body", "Status\nWaiting on supplier")
	p.WaitText("#pg-thread-labels", "Support/Waiting on supplier")
	p.screenshot("custom-status")
}
