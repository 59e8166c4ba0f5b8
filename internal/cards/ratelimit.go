package cards

import cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

// NameRateLimited is the card of an action refused for going too fast.
const NameRateLimited = "rate-limited"

// RateLimited tells a user who fired actions faster than their limit to
// try again in seconds; nothing of the action was done.
func (b Builder) RateLimited(seconds int) *cardpb.Card {
	c := b.Error(b.t("ratelimit.title"), b.p().N("ratelimit.detail", max(seconds, 1)))
	c.Name = NameRateLimited
	return c
}
