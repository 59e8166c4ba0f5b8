package inbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Presence and reply claims: who has a conversation open, who is writing
// the reply, and who replied last. An add-on cannot watch Gmail's compose
// window, so this is what the sidebar and the sync tell the server: opening
// a conversation records "viewing", the Reply button takes a claim (a lease
// with one holder and an expiry), and the sync ends the claim when it sees
// the holder's reply sent.
//
// Every entry carries its own expiry and is ignored once it has passed; the
// record as a whole expires by itself at ExpiresAt (a TTL on Firestore, a
// prune on SQLite), so nothing has to clean up after a closed sidebar.
const (
	// PresenceTTL is how long "viewing" lasts after a card was shown.
	PresenceTTL = 2 * time.Minute
	// PresenceRefresh is the age below which a viewer's entry is fresh: a
	// card shown then writes nothing.
	PresenceRefresh = time.Minute
	// ClaimTTL is how long a reply claim lasts unless the reply is sent.
	ClaimTTL = 15 * time.Minute
	// DoubleReplyWindow is how close two team replies to one customer
	// message must be to be flagged as a double answer.
	DoubleReplyWindow = 10 * time.Minute
	// takeOverNotice is how long a previous holder's card says that the
	// reply was taken over.
	takeOverNotice = time.Hour
)

// Activity kinds of presence and claims. They never change the
// conversation record (Version 0), like notes.
const (
	// ActReplyTakenOver: Actor took over the reply claim From held.
	ActReplyTakenOver ActivityKind = "reply_taken_over"
	// ActRepliedDuringClaim: Actor's reply went out while From held the
	// reply claim.
	ActRepliedDuringClaim ActivityKind = "replied_during_claim"
	// ActDoubleReply: Actor replied to the customer message From had
	// answered To seconds before.
	ActDoubleReply ActivityKind = "double_reply"
)

// Flagged reports whether an activity entry is a reply collision the card
// shows as a warning.
func (a Activity) Flagged() bool {
	return a.Kind == ActRepliedDuringClaim || a.Kind == ActDoubleReply
}

// ErrClaimHeld: someone else holds a live reply claim. It is an ErrConflict.
var ErrClaimHeld = fmt.Errorf("%w: the reply is claimed by someone else", ErrConflict)

// Presence is what is known right now about the people working on one
// conversation. Times are the server's.
type Presence struct {
	TenantID       string
	ConversationID string
	// Viewers are the members who have the conversation's card open,
	// sorted by address, at most one entry each.
	Viewers []Viewer
	// Claim is the reply claim; a zero Holder or a past Until is no claim.
	Claim Claim
	// TakenOver is the last take-over of the claim, which the previous
	// holder's card mentions.
	TakenOver TakeOver
	// LastReply is the team's last reply the sync saw.
	LastReply TeamReply
	// UpdatedAt is when the record was last written.
	UpdatedAt time.Time
}

// Viewer is one member with the card open: Seen is when it was last shown
// (and recorded), Until when that stops counting.
type Viewer struct {
	Email string
	Seen  time.Time
	Until time.Time
}

// Claim is a lease on writing the reply.
type Claim struct {
	Holder string
	Since  time.Time
	Until  time.Time
	// DraftID and DraftThreadID are the draft the holder's Reply created
	// under this claim, which their next Reply opens again instead of
	// starting a second one; empty until then. A new holder starts
	// without.
	DraftID       string `json:",omitempty"`
	DraftThreadID string `json:",omitempty"`
}

// TakeOver is a claim taken from its live holder.
type TakeOver struct {
	From string
	By   string
	At   time.Time
}

// TeamReply is a reply of the team as the sync recorded it: who, when, and
// the Message-ID it answered.
type TeamReply struct {
	By        string
	At        time.Time
	InReplyTo string
}

// Live reports whether the claim holds at now.
func (c Claim) Live(now time.Time) bool { return c.Holder != "" && now.Before(c.Until) }

// ExpiresAt is when nothing in the record matters any more: stores may
// drop it then (the TTL field).
func (p Presence) ExpiresAt() time.Time {
	t := p.Claim.Until
	later := func(u time.Time) {
		if u.After(t) {
			t = u
		}
	}
	for _, v := range p.Viewers {
		later(v.Until)
	}
	if !p.TakenOver.At.IsZero() {
		later(p.TakenOver.At.Add(takeOverNotice))
	}
	if !p.LastReply.At.IsZero() {
		later(p.LastReply.At.Add(DoubleReplyWindow))
	}
	return t
}

// Others returns the live viewers other than me, sorted by address.
func (p Presence) Others(me string, now time.Time) []Viewer {
	var out []Viewer
	for _, v := range p.Viewers {
		if v.Email != me && now.Before(v.Until) {
			out = append(out, v)
		}
	}
	return out
}

// Fresh reports whether me's viewer entry was written less than
// PresenceRefresh ago: showing the card again then needs no write.
func (p Presence) Fresh(me string, now time.Time) bool {
	for _, v := range p.Viewers {
		if v.Email == me {
			return now.Sub(v.Seen) < PresenceRefresh && now.Before(v.Until)
		}
	}
	return false
}

// TakenFrom returns the take-over of me's claim that me's card should
// mention, if there is one.
func (p Presence) TakenFrom(me string, now time.Time) (TakeOver, bool) {
	t := p.TakenOver
	return t, t.From == me && now.Sub(t.At) < takeOverNotice
}

// See records that me has the card open at now and drops expired entries.
func (p *Presence) See(me string, now time.Time) {
	p.prune(now)
	i := slices.IndexFunc(p.Viewers, func(v Viewer) bool { return v.Email == me })
	if i < 0 {
		p.Viewers = append(p.Viewers, Viewer{Email: me})
		i = len(p.Viewers) - 1
	}
	p.Viewers[i].Seen, p.Viewers[i].Until = now, now.Add(PresenceTTL)
	slices.SortFunc(p.Viewers, func(a, b Viewer) int { return strings.Compare(a.Email, b.Email) })
	p.UpdatedAt = now
}

// prune drops viewers whose entry has expired.
func (p *Presence) prune(now time.Time) {
	p.Viewers = slices.DeleteFunc(slices.Clone(p.Viewers), func(v Viewer) bool { return !now.Before(v.Until) })
}

// TakeClaim makes me the holder of the reply claim until now+ClaimTTL. A
// live claim of someone else fails with ErrClaimHeld unless takeOver is
// set: then it is taken, and the returned entry (non-nil only then) logs
// the take-over. Taking one's own claim again renews it. It also records me
// as viewing.
func (p *Presence) TakeClaim(me string, takeOver bool, now time.Time) (*Activity, error) {
	var ev *Activity
	if p.Claim.Live(now) && p.Claim.Holder != me {
		if !takeOver {
			return nil, ErrClaimHeld
		}
		p.TakenOver = TakeOver{From: p.Claim.Holder, By: me, At: now}
		ev = p.activity(ActReplyTakenOver, me, p.Claim.Holder, "", now)
	}
	if !p.Claim.Live(now) || p.Claim.Holder != me {
		p.Claim = Claim{Holder: me, Since: now}
	}
	p.Claim.Until = now.Add(ClaimTTL)
	p.See(me, now)
	return ev, nil
}

// Replied records a reply the team sent, as the sync saw it: by is the
// member whose mailbox sent it, at when, inReplyTo the Message-ID it
// answered. The holder's own reply ends the claim. A reply that went out
// while someone else held the claim, or that answers the message another
// member answered less than DoubleReplyWindow before, is flagged: the
// returned entry logs it (nil when nothing is flagged).
func (p *Presence) Replied(by string, at time.Time, inReplyTo string, now time.Time) *Activity {
	var ev *Activity
	last := p.LastReply
	switch {
	case p.Claim.Live(at) && p.Claim.Holder != by:
		ev = p.activity(ActRepliedDuringClaim, by, p.Claim.Holder, "", now)
	case last.By != "" && last.By != by && inReplyTo != "" && last.InReplyTo == inReplyTo &&
		at.Sub(last.At) >= 0 && at.Sub(last.At) < DoubleReplyWindow:
		gap := int64(at.Sub(last.At) / time.Second)
		ev = p.activity(ActDoubleReply, by, last.By, strconv.FormatInt(gap, 10), now)
	}
	if p.Claim.Holder == by {
		p.Claim = Claim{}
	}
	if last.At.IsZero() || !at.Before(last.At) {
		p.LastReply = TeamReply{By: by, At: at, InReplyTo: inReplyTo}
	}
	p.UpdatedAt = now
	return ev
}

// DoubleReplyGap is the gap an ActDoubleReply entry records.
func (a Activity) DoubleReplyGap() time.Duration {
	n, _ := strconv.ParseInt(a.To, 10, 64)
	return time.Duration(n) * time.Second
}

func (p Presence) activity(kind ActivityKind, actor, from, to string, now time.Time) *Activity {
	return &Activity{
		TenantID:       p.TenantID,
		ConversationID: p.ConversationID,
		ID:             NewID(now),
		Actor:          actor,
		Kind:           kind,
		From:           from,
		To:             to,
		At:             now,
	}
}
