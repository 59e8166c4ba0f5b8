package gmailsim

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/api/gmail/v1"
)

// Label visibilities, as the Label resource spells them.
const (
	labelShow         = "labelShow"
	labelShowIfUnread = "labelShowIfUnread"
	labelHide         = "labelHide"
	messageShow       = "show"
	messageHide       = "hide"
)

// reservedLabelNames are names a user label cannot take besides those of the
// system labels: the display names Gmail shows for system folders. Gmail
// answers 400 "Invalid label name" for them.
var reservedLabelNames = []string{"drafts", "sent mail", "all mail", "chats"}

// labelColors is the palette LabelColor allows, from the discovery document.
var labelColors = strings.Fields(`#000000 #434343 #666666 #999999 #cccccc #efefef #f3f3f3 #ffffff
#fb4c2f #ffad47 #fad165 #16a766 #43d692 #4a86e8 #a479e2 #f691b3 #f6c5be #ffe6c7 #fef1d1 #b9e4d0
#c6f3de #c9daf8 #e4d7f5 #fcdee8 #efa093 #ffd6a2 #fce8b3 #89d3b2 #a0eac9 #a4c2f4 #d0bcf1 #fbc8d9
#e66550 #ffbc6b #fcda83 #44b984 #68dfa9 #6d9eeb #b694e8 #f7a7c0 #cc3a21 #eaa041 #f2c960 #149e60
#3dc789 #3c78d8 #8e63ce #e07798 #ac2b16 #cf8933 #d5ae49 #0b804b #2a9c68 #285bac #653e9b #b65775
#822111 #a46a21 #aa8831 #076239 #1a764d #1c4587 #41236d #83334c #464646 #e7e7e7 #0d3472 #b6cff5
#0d3b44 #98d7e4 #3d188e #e3d7ff #711a36 #fbd3e0 #8a1c0a #f2b2a8 #7a2e0b #ffc8af #7a4706 #ffdeb5
#594c05 #fbe983 #684e07 #fdedc1 #0b4f30 #b3efd3 #04502e #a2dcc1 #c2c2c2 #4986e7 #2da2bb #b99aff
#994a64 #f691b2 #ff7537 #ffad46 #662e37 #ebdbde #cca6ac #094228 #42d692 #16a765 #757575 #1e53b8
#007286 #7858c3 #c2185b #d93025 #54240e #633e04 #521d28 #202124 #083018`)

// resource renders l as a Label. full adds the counters and the color, as
// labels.get does; labels.list leaves them out. The caller holds s.mu.
func (l *label) resource(mb *mailbox, full bool) *gmail.Label {
	out := &gmail.Label{
		Id:                    l.id,
		Name:                  l.name,
		Type:                  "user",
		LabelListVisibility:   l.labelListVisibility,
		MessageListVisibility: l.messageListVisibility,
	}
	if l.system {
		out.Type = "system"
	}
	if !full {
		return out
	}
	if l.textColor != "" {
		out.Color = &gmail.LabelColor{TextColor: l.textColor, BackgroundColor: l.bgColor}
	}
	threads, unreadThreads := map[string]bool{}, map[string]bool{}
	for _, m := range mb.order {
		if !m.hasLabel(l.id) {
			continue
		}
		out.MessagesTotal++
		threads[m.threadID] = true
		if m.hasLabel(LabelUnread) {
			out.MessagesUnread++
			unreadThreads[m.threadID] = true
		}
	}
	out.ThreadsTotal, out.ThreadsUnread = int64(len(threads)), int64(len(unreadThreads))
	out.ForceSendFields = []string{"MessagesTotal", "MessagesUnread", "ThreadsTotal", "ThreadsUnread"}
	return out
}

// labelSpec is the validated mutable part of a Label resource.
type labelSpec struct {
	name                  string
	labelListVisibility   string
	messageListVisibility string
	textColor, bgColor    string
	hasColor              bool
}

// checkLabelName validates a user label name: not blank, no empty level
// between "/" separators, not a system or reserved name.
func checkLabelName(name string) error {
	if strings.TrimSpace(name) == "" || slices.Contains(strings.Split(name, "/"), "") {
		return errInvalid("Invalid label name")
	}
	if slices.ContainsFunc(systemLabels, func(s string) bool { return strings.EqualFold(s, name) }) ||
		slices.Contains(reservedLabelNames, strings.ToLower(name)) {
		return errInvalid("Invalid label name")
	}
	return nil
}

// parseLabelSpec validates the fields of in that are set.
func parseLabelSpec(in *gmail.Label) (labelSpec, error) {
	sp := labelSpec{name: in.Name, labelListVisibility: in.LabelListVisibility, messageListVisibility: in.MessageListVisibility}
	if sp.name != "" {
		if err := checkLabelName(sp.name); err != nil {
			return sp, err
		}
	}
	switch sp.labelListVisibility {
	case "", labelShow, labelShowIfUnread, labelHide:
	default:
		return sp, errInvalid("Invalid value at 'label.label_list_visibility', %q", sp.labelListVisibility)
	}
	switch sp.messageListVisibility {
	case "", messageShow, messageHide:
	default:
		return sp, errInvalid("Invalid value at 'label.message_list_visibility', %q", sp.messageListVisibility)
	}
	if c := in.Color; c != nil {
		sp.hasColor = true
		sp.textColor, sp.bgColor = strings.ToLower(c.TextColor), strings.ToLower(c.BackgroundColor)
		if sp.textColor == "" || sp.bgColor == "" {
			return sp, errInvalid("Label color requires both textColor and backgroundColor")
		}
		for _, v := range []string{sp.textColor, sp.bgColor} {
			if !slices.Contains(labelColors, v) {
				return sp, errInvalid("Label color %s is not on the allowed color palette", v)
			}
		}
	}
	return sp, nil
}

// nameTaken reports whether a user label other than self has name,
// case-insensitively.
func (mb *mailbox) nameTaken(name string, self *label) bool {
	for _, l := range mb.labels {
		if l != self && strings.EqualFold(l.name, name) {
			return true
		}
	}
	return false
}

// createLabel adds a user label. The caller holds s.mu for writing.
func (mb *mailbox) createLabel(sp labelSpec) (*label, error) {
	if sp.name == "" {
		return nil, errInvalid("Invalid label name")
	}
	if mb.nameTaken(sp.name, nil) {
		return nil, errLabelConflict()
	}
	mb.nextLabel++
	l := &label{
		id:                    "Label_" + strconv.Itoa(mb.nextLabel),
		name:                  sp.name,
		labelListVisibility:   cmp.Or(sp.labelListVisibility, labelShow),
		messageListVisibility: cmp.Or(sp.messageListVisibility, messageShow),
		textColor:             sp.textColor,
		bgColor:               sp.bgColor,
	}
	mb.labels[l.id] = l
	return l, nil
}

// CreateLabel creates a user label, as labels.create would with default
// visibilities, and returns its id. Errors: ErrUnknownMailbox, or the
// API's 400 (invalid or reserved name) and 409 (name taken) as errors.
func (s *Server) CreateLabel(mailbox, name string) (string, error) {
	if err := checkLabelName(name); err != nil {
		return "", err
	}
	addr := normAddress(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[addr]
	if mb == nil {
		return "", fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	l, err := mb.createLabel(labelSpec{name: name})
	if err != nil {
		return "", err
	}
	return l.id, nil
}

// deleteLabel removes a user label from every message, recording a
// labelRemoved change for each, and then from the mailbox. The caller holds
// s.mu for writing.
func (s *Server) deleteLabel(mb *mailbox, l *label) error {
	if l.system {
		return errInvalid("Invalid delete request")
	}
	for _, m := range mb.order {
		if i := slices.Index(m.labelIDs, l.id); i >= 0 {
			m.labelIDs = slices.Delete(slices.Clone(m.labelIDs), i, i+1)
			s.record(mb, changeLabelRemoved, m, []string{l.id})
		}
	}
	delete(mb.labels, l.id)
	return nil
}

// sortedLabels lists system labels in their usual order, then user labels
// by creation.
func (mb *mailbox) sortedLabels() []*label {
	out := make([]*label, 0, len(mb.labels))
	for _, id := range systemLabels {
		out = append(out, mb.labels[id])
	}
	var user []*label
	for _, l := range mb.labels {
		if !l.system {
			user = append(user, l)
		}
	}
	slices.SortFunc(user, func(a, b *label) int {
		na, _ := strconv.Atoi(strings.TrimPrefix(a.id, "Label_"))
		nb, _ := strconv.Atoi(strings.TrimPrefix(b.id, "Label_"))
		return na - nb
	})
	return append(out, user...)
}

func (s *Server) handleListLabels(c *call) error {
	s.mu.RLock()
	mb := s.mailboxes[c.addr]
	resp := &gmail.ListLabelsResponse{}
	for _, l := range mb.sortedLabels() {
		resp.Labels = append(resp.Labels, l.resource(mb, false))
	}
	s.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

func (s *Server) handleGetLabel(c *call, id string) error {
	s.mu.RLock()
	mb := s.mailboxes[c.addr]
	var out *gmail.Label
	if l := mb.labels[id]; l != nil {
		out = l.resource(mb, true)
	}
	s.mu.RUnlock()
	if out == nil {
		return errNotFound()
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func (s *Server) handleCreateLabel(c *call) error {
	var in gmail.Label
	if err := readJSON(c, &in); err != nil {
		return err
	}
	sp, err := parseLabelSpec(&in)
	if err != nil {
		return err
	}
	s.mu.Lock()
	mb := s.mailboxes[c.addr]
	l, err := mb.createLabel(sp)
	var out *gmail.Label
	if err == nil {
		out = l.resource(mb, true)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// handleChangeLabel serves labels.patch (replace=false: only the fields
// sent change) and labels.update (replace=true: name is required, absent
// visibilities go back to their defaults and an absent color is removed).
// System labels cannot be changed.
func (s *Server) handleChangeLabel(c *call, id string, replace bool) error {
	var in gmail.Label
	if err := readJSON(c, &in); err != nil {
		return err
	}
	sp, err := parseLabelSpec(&in)
	if err != nil {
		return err
	}
	out, err := s.changeLabel(c.addr, id, sp, replace)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// changeLabel applies a patch or update and returns the new label.
func (s *Server) changeLabel(addr, id string, sp labelSpec, replace bool) (*gmail.Label, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[addr]
	l := mb.labels[id]
	switch {
	case l == nil:
		return nil, errNotFound()
	case l.system:
		return nil, errInvalid("Invalid update request")
	case replace && sp.name == "":
		return nil, errInvalid("Invalid label name")
	case sp.name != "" && mb.nameTaken(sp.name, l):
		return nil, errLabelConflict()
	}
	if sp.name != "" {
		l.name = sp.name
	}
	if replace {
		l.labelListVisibility = cmp.Or(sp.labelListVisibility, labelShow)
		l.messageListVisibility = cmp.Or(sp.messageListVisibility, messageShow)
		l.textColor, l.bgColor = sp.textColor, sp.bgColor
	} else {
		l.labelListVisibility = cmp.Or(sp.labelListVisibility, l.labelListVisibility)
		l.messageListVisibility = cmp.Or(sp.messageListVisibility, l.messageListVisibility)
		if sp.hasColor {
			l.textColor, l.bgColor = sp.textColor, sp.bgColor
		}
	}
	return l.resource(mb, true), nil
}

func (s *Server) handleDeleteLabel(c *call, id string) error {
	err := func() error {
		s.mu.Lock()
		defer s.unlockAndNotify()
		mb := s.mailboxes[c.addr]
		l := mb.labels[id]
		if l == nil {
			return errNotFound()
		}
		return s.deleteLabel(mb, l)
	}()
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
