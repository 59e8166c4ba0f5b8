package cards

import (
	"testing"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/inbox"
)

// benchBuilder is the tests' Builder (b, which benchmarks shadow).
var benchBuilder = b

// BenchmarkRenderEncode builds the cards of the busiest screens and
// encodes each as the response a handler sends (addon.RenderActions.JSON).
func BenchmarkRenderEncode(b *testing.B) {
	v := view()
	unassigned := conv()
	unassigned.Assignee, unassigned.ID = "", "c0124"
	list := desk.List{Inbox: ib, Me: ib.Members[2], Filter: desk.FilterOpen, Now: now, NextCursor: "abc"}
	for range 10 {
		list.Conversations = append(list.Conversations, conv(), unassigned)
	}
	home := desk.Home{
		Tenant: inbox.Tenant{Domain: "example.com"}, User: desk.User{Email: "carol@example.com", Domain: "example.com"},
		Inboxes: []desk.InboxSummary{{Inbox: ib, Me: ib.Members[2], Counts: map[desk.Filter]int{
			desk.FilterUnassigned: 5, desk.FilterMine: 2, desk.FilterOpen: 9, desk.FilterPending: 1,
		}}},
	}
	for _, bc := range []struct {
		name   string
		render func() addon.RenderActions
	}{
		{"Conversation", func() addon.RenderActions { return addon.PushCard(benchBuilder.Conversation(v)) }},
		{"List20", func() addon.RenderActions { return addon.PushCard(benchBuilder.List(list)) }},
		{"Home", func() addon.RenderActions { return addon.PushCard(benchBuilder.Home(home)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.render().JSON(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
