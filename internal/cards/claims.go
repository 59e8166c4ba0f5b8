package cards

import (
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
)

// replySection is the conversation card's "Reply" section: who else has
// the conversation open or is writing the reply right now, a take-over of
// the caller's own reply, replies flagged as collisions, why the caller's
// draft is not from the shared address (after Reply), and the Reply (or
// Take over) button. It sits at the top of the card, which is also the
// card of mobile Gmail.
func (b Builder) replySection(v desk.View) *cardpb.Card_Section {
	c, p, me, now := v.Conversation, v.Presence, v.Me.Email, v.Now
	names := v.Inbox.DisplayName
	var ws []*cardpb.Widget
	for _, a := range v.Activity {
		if a.Flagged() {
			ws = append(ws, text(`<font color="#B31412"><b>`+esc(b.t("claims.flag_title"))+`</b></font> — `+esc(b.Describe(a, names))+" · "+esc(b.ago(now, a.At))))
		}
	}
	if t, ok := p.TakenFrom(me, now); ok {
		ws = append(ws, text(`<font color="#B31412">`+esc(b.t("claims.taken_over_you", "Name", names(t.By), "Ago", b.ago(now, t.At)))+`</font>`))
	}
	claim := p.Claim
	held := claim.Live(now)
	switch {
	case held && claim.Holder == me:
		ws = append(ws, text("<b>"+esc(b.t("claims.you_reply", "Span", b.p().Span(now.Sub(claim.Since))))+"</b>"))
	case held:
		ws = append(ws, text("<b>"+esc(b.t("claims.replying", "Name", names(claim.Holder), "Span", b.p().Span(now.Sub(claim.Since))))+"</b>"))
	}
	for _, o := range p.Others(me, now) {
		if held && o.Email == claim.Holder {
			continue
		}
		ws = append(ws, text(esc(b.t("claims.viewing", "Name", names(o.Email)))))
	}
	if !held && len(ws) == 0 {
		ws = append(ws, text("<i>"+esc(b.t("claims.nobody"))+"</i>"))
	}
	if v.ReplyFrom.ID != "" {
		ws = append(ws, text(`<font color="#B06000">`+esc(b.Message(v.ReplyFrom, names))+`</font>`))
	}
	op, label := OpReply, b.t("claims.button.reply")
	if held && claim.Holder != me {
		op, label = OpTakeOver, b.t("claims.button.take_over")
	}
	ws = append(ws, buttons(button(label, b.action(ParamOp, op, ParamConv, c.ID))))
	return section(b.t("claims.section"), ws...)
}
