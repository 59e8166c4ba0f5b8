package gmailsim

import (
	"fmt"
	"net/http"
	"slices"

	"google.golang.org/api/gmail/v1"
)

// Limits of the modify calls, from their documentation.
const (
	maxModifyLabels = 100  // addLabelIds and removeLabelIds, each
	maxBatchIDs     = 1000 // ids of messages.batchModify
)

// labelChange is a validated pair of addLabelIds and removeLabelIds.
type labelChange struct{ add, remove []string }

// checkLabelChange validates add and remove against mb: every id must exist
// and may be listed once; SENT and DRAFT cannot be added or removed (Gmail
// answers "Invalid label: SENT"); a label may not be both added and removed.
func (mb *mailbox) checkLabelChange(add, remove []string) (labelChange, error) {
	if len(add) > maxModifyLabels || len(remove) > maxModifyLabels {
		return labelChange{}, errInvalid("At most %d labels can be added and %d removed at once", maxModifyLabels, maxModifyLabels)
	}
	a, err := mb.checkLabels(add)
	if err != nil {
		return labelChange{}, err
	}
	r, err := mb.checkLabels(remove)
	if err != nil {
		return labelChange{}, err
	}
	for _, id := range slices.Concat(a, r) {
		if id == LabelSent || id == LabelDraft {
			return labelChange{}, &labelError{id: id}
		}
		if slices.Contains(a, id) && slices.Contains(r, id) {
			return labelChange{}, errInvalid("Label %s cannot be both added and removed", id)
		}
	}
	return labelChange{add: a, remove: r}, nil
}

// applyLabels changes the labels of m and records what actually changed:
// one labelAdded record for the labels it did not have, then one
// labelRemoved record for the labels it had. Adding a label the message
// already has, or removing one it lacks, records nothing; Gmail does not
// document this case, and a no-op leaving no trace is the assumption. The
// caller holds s.mu for writing.
func (s *Server) applyLabels(mb *mailbox, m *message, lc labelChange) {
	var added []string
	for _, id := range lc.add {
		if !m.hasLabel(id) {
			added = append(added, id)
		}
	}
	if len(added) > 0 {
		m.labelIDs = append(slices.Clone(m.labelIDs), added...)
		s.record(mb, changeLabelAdded, m, added)
	}
	var removed []string
	for _, id := range lc.remove {
		if m.hasLabel(id) {
			removed = append(removed, id)
		}
	}
	if len(removed) > 0 {
		m.labelIDs = slices.DeleteFunc(slices.Clone(m.labelIDs), func(id string) bool { return slices.Contains(removed, id) })
		s.record(mb, changeLabelRemoved, m, removed)
	}
}

// Modify changes the labels of one message as if the user did it in
// Gmail's UI, with the rules and history records of messages.modify.
// Errors: ErrUnknownMailbox, ErrMessageNotFound, ErrInvalidLabel, and an
// invalidArgument error for a label both added and removed.
func (s *Server) Modify(mailbox, messageID string, add, remove []string) error {
	addr := normAddress(mailbox)
	_, err := s.modifyMessage(addr, messageID, add, remove)
	return err
}

// modifyMessage applies a label change to one message and returns it.
func (s *Server) modifyMessage(addr, id string, add, remove []string) (msgView, error) {
	s.mu.Lock()
	defer s.unlockAndNotify()
	mb := s.mailboxes[addr]
	if mb == nil {
		return msgView{}, fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	m := mb.messages[id]
	if m == nil {
		return msgView{}, fmt.Errorf("%w: %s", ErrMessageNotFound, id)
	}
	lc, err := mb.checkLabelChange(add, remove)
	if err != nil {
		return msgView{}, err
	}
	s.applyLabels(mb, m, lc)
	return view(m), nil
}

// DeleteMessage permanently deletes a message, as messages.delete (or
// emptying the trash) does, and records a messageDeleted change. Errors:
// ErrUnknownMailbox, ErrMessageNotFound.
func (s *Server) DeleteMessage(mailbox, messageID string) error {
	addr := normAddress(mailbox)
	s.mu.Lock()
	defer s.unlockAndNotify()
	mb := s.mailboxes[addr]
	if mb == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	m := mb.messages[messageID]
	if m == nil {
		return fmt.Errorf("%w: %s", ErrMessageNotFound, messageID)
	}
	mb.remove(m)
	s.record(mb, changeMessageDeleted, m, nil)
	return nil
}

// handleModifyMessage serves messages.modify. The answer is the message in
// the minimal format, with its new labels and history id.
func (s *Server) handleModifyMessage(c *call, id string) error {
	if !validID(id) {
		return errInvalid("Invalid id value")
	}
	var req gmail.ModifyMessageRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	v, err := s.modifyMessage(c.addr, id, req.AddLabelIds, req.RemoveLabelIds)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, v.render(formatMinimal, nil))
	return nil
}

// handleBatchModify serves messages.batchModify. It is all or nothing: an
// unknown id fails the whole request with 404 before anything changes.
func (s *Server) handleBatchModify(c *call) error {
	var req gmail.BatchModifyMessagesRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	switch {
	case len(req.Ids) == 0:
		return errInvalid("No message ids specified")
	case len(req.Ids) > maxBatchIDs:
		return errInvalid("Number of ids cannot exceed %d", maxBatchIDs)
	}
	var ids []string
	for _, id := range req.Ids {
		if !validID(id) {
			return errInvalid("Invalid id value")
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	err := func() error {
		s.mu.Lock()
		defer s.unlockAndNotify()
		mb := s.mailboxes[c.addr]
		lc, err := mb.checkLabelChange(req.AddLabelIds, req.RemoveLabelIds)
		if err != nil {
			return err
		}
		msgs := make([]*message, len(ids))
		for i, id := range ids {
			if msgs[i] = mb.messages[id]; msgs[i] == nil {
				return errNotFound()
			}
		}
		for _, m := range msgs {
			s.applyLabels(mb, m, lc)
		}
		return nil
	}()
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleModifyThread serves threads.modify: the change applies to every
// message of the thread, oldest first. The answer is the thread with its
// messages in the minimal format.
func (s *Server) handleModifyThread(c *call, id string) error {
	if !validID(id) {
		return errInvalid("Invalid id value")
	}
	var req gmail.ModifyThreadRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	out, err := func() (*gmail.Thread, error) {
		s.mu.Lock()
		defer s.unlockAndNotify()
		mb := s.mailboxes[c.addr]
		t := mb.threads[id]
		if t == nil {
			return nil, errNotFound()
		}
		lc, err := mb.checkLabelChange(req.AddLabelIds, req.RemoveLabelIds)
		if err != nil {
			return nil, err
		}
		msgs := slices.Clone(t.messages)
		slices.SortStableFunc(msgs, func(a, b *message) int { return a.internalDate.Compare(b.internalDate) })
		out := &gmail.Thread{Id: t.id}
		for _, m := range msgs {
			s.applyLabels(mb, m, lc)
			out.Messages = append(out.Messages, view(m).render(formatMinimal, nil))
		}
		out.HistoryId = t.historyID()
		return out, nil
	}()
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// handleDeleteMessage serves messages.delete.
func (s *Server) handleDeleteMessage(c *call, id string) error {
	if !validID(id) {
		return errInvalid("Invalid id value")
	}
	if err := s.DeleteMessage(c.addr, id); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
