package gmailsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/api/gmail/v1"
)

// Drafts, as the reference and the drafts guide
// (developers.google.com/workspace/gmail/api/guides/drafts) describe them:
// a draft is a stable id around a message labelled DRAFT. The message
// cannot be edited in place; drafts.update replaces it, so the draft id
// stays and the message id changes. drafts.send deletes the draft and
// creates a new message, with a new id, labelled SENT. A draft's message is
// an ordinary message otherwise: messages.list, messages.get and
// threads.get show it, and it joins a thread by the same rules as an
// insert.
//
// Not documented, and chosen here: history records. Creating a draft
// records messageAdded of its message (labelIds [DRAFT]); updating records
// messageAdded of the new message, then messageDeleted of the old one;
// deleting records messageDeleted; sending records messageDeleted of the
// draft's message, then what messages.send records (messageAdded of the
// SENT message). The draft's message keeps the raw bytes it was given (no
// From or Message-ID is added until it is sent), and its labels are always
// just DRAFT: the guide says "Draft messages cannot have any labels other
// than the DRAFT system label", so labelIds in the request are ignored.

// ErrDraftNotFound: a draft id does not exist in the mailbox.
var ErrDraftNotFound = errors.New("gmailsim: draft not found")

// Draft is a snapshot of a draft, for tests and development tools.
type Draft struct {
	ID      string
	Message Message
}

// draftRequest is the Draft resource a client sends to drafts.create,
// update and send.
type draftRequest struct {
	ID      string          `json:"id"`
	Message *insertMetadata `json:"message"`
}

// DraftsOf returns the drafts of a mailbox, newest message first, or nil for
// an unknown mailbox.
func (s *Server) DraftsOf(mailbox string) []Draft {
	addr := normAddress(mailbox)
	s.mu.RLock()
	defer s.mu.RUnlock()
	mb := s.mailboxes[addr]
	if mb == nil {
		return nil
	}
	var out []Draft
	for _, d := range mb.sortedDrafts() {
		out = append(out, Draft{ID: d.id, Message: snapshot(addr, d.m)})
	}
	return out
}

// draftRef is a draft with its message.
type draftRef struct {
	id string
	m  *message
}

// draft returns the message of draft id, or nil. A draft whose message was
// deleted through messages.delete is gone too. The caller holds s.mu.
func (mb *mailbox) draft(id string) *message {
	mid, ok := mb.drafts[id]
	if !ok {
		return nil
	}
	return mb.messages[mid]
}

// sortedDrafts returns the drafts in messages.list order: internalDate
// descending, then message id descending. The caller holds s.mu.
func (mb *mailbox) sortedDrafts() []draftRef {
	var out []draftRef
	for id := range mb.drafts {
		if m := mb.draft(id); m != nil {
			out = append(out, draftRef{id: id, m: m})
		}
	}
	slices.SortFunc(out, func(a, b draftRef) int {
		if c := b.m.internalDate.Compare(a.m.internalDate); c != 0 {
			return c
		}
		return strings.Compare(b.m.id, a.m.id)
	})
	return out
}

// newDraftID returns a new draft id: "r" and a decimal number, the shape of
// Gmail's ids (which are sometimes negative, "r-…"; these never are). The
// caller holds s.mu for writing.
func (mb *mailbox) newDraftID() string {
	mb.nextDraft++
	return "r" + strconv.FormatUint(mb.nextDraft, 10)
}

// putDraft stores raw as the message of a draft: a new draft when draftID
// is "", else a replacement of draft draftID's message. threadID, if set,
// must be a thread of the mailbox; the message joins it under the rules of
// insert. Errors: ErrUnknownMailbox, ErrDraftNotFound, ErrThreadNotFound,
// ErrTooLarge.
func (s *Server) putDraft(addr, draftID string, raw []byte, threadID string) (string, msgView, error) {
	if int64(len(raw)) > s.maxSize {
		return "", msgView{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), s.maxSize)
	}
	m := &message{raw: raw, parsed: parseMail(raw), labelIDs: []string{LabelDraft}}

	s.mu.Lock()
	defer s.unlockAndNotify()
	mb := s.mailboxes[addr]
	if mb == nil {
		return "", msgView{}, fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	var old *message
	if draftID != "" {
		if old = mb.draft(draftID); old == nil {
			return "", msgView{}, fmt.Errorf("%w: %s", ErrDraftNotFound, draftID)
		}
	}
	if threadID != "" && mb.threads[threadID] == nil {
		return "", msgView{}, fmt.Errorf("%w: %s", ErrThreadNotFound, threadID)
	}
	now := s.now()
	m.id = s.newMessageID(now)
	m.internalDate = toMillis(now)
	// The new message goes in before the old one leaves, so that a
	// threadId naming the draft's own thread still exists.
	s.addMessage(mb, m, threadID)
	if old != nil {
		mb.remove(old)
		s.record(mb, changeMessageDeleted, old, nil)
	} else {
		draftID = mb.newDraftID()
	}
	mb.drafts[draftID] = m.id
	return draftID, view(m), nil
}

// deleteDraft removes draft id and its message.
func (s *Server) deleteDraft(addr, id string) error {
	s.mu.Lock()
	defer s.unlockAndNotify()
	mb := s.mailboxes[addr]
	if mb == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
	}
	m := mb.draft(id)
	if m == nil {
		return fmt.Errorf("%w: %s", ErrDraftNotFound, id)
	}
	delete(mb.drafts, id)
	mb.remove(m)
	s.record(mb, changeMessageDeleted, m, nil)
	return nil
}

// sendDraft sends draft id as messages.send would send its message (or
// replacement, when not nil, with threadID), after removing the draft. The
// draft is taken under the lock, so of two concurrent sends one gets
// ErrDraftNotFound. The checks that could fail the send (recipients, size)
// run before the draft is removed.
func (s *Server) sendDraft(addr, id string, replacement []byte, threadID string) (Message, error) {
	if replacement != nil && int64(len(replacement)) > s.maxSize {
		return Message{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(replacement), s.maxSize)
	}
	raw, thread, err := func() ([]byte, string, error) {
		s.mu.Lock()
		defer s.unlockAndNotify()
		mb := s.mailboxes[addr]
		if mb == nil {
			return nil, "", fmt.Errorf("%w: %s", ErrUnknownMailbox, addr)
		}
		m := mb.draft(id)
		if m == nil {
			return nil, "", fmt.Errorf("%w: %s", ErrDraftNotFound, id)
		}
		raw, thread := m.raw, threadID
		if replacement != nil {
			raw = replacement
		} else if t := mb.threads[m.threadID]; t != nil && len(t.messages) > 1 {
			thread = m.threadID // the draft's thread outlives it
		}
		if thread != "" && mb.threads[thread] == nil {
			return nil, "", fmt.Errorf("%w: %s", ErrThreadNotFound, thread)
		}
		if h, _ := splitHeader(raw); len(recipients(h)) == 0 {
			return nil, "", errBadRequest("Recipient address required")
		}
		delete(mb.drafts, id)
		mb.remove(m)
		s.record(mb, changeMessageDeleted, m, nil)
		return raw, thread, nil
	}()
	if err != nil {
		return Message{}, err
	}
	sent, _, err := s.Send(addr, raw, thread)
	return sent, err
}

// readDraft reads the Draft of a drafts.create, update or send request:
// JSON on the metadata path; on the upload path (uploadType multipart, or
// media with the message alone) the Draft as metadata and the message as
// media. raw is nil when the request carries no message, which only
// drafts.send allows.
func (s *Server) readDraft(c *call, upload bool) (req draftRequest, raw []byte, err error) {
	if upload {
		switch t := c.query.Get("uploadType"); t {
		case "media":
			raw, err = readAllLimited(c.w, c.r.Body, s.maxSize)
			if len(raw) == 0 {
				raw = nil
			}
			return req, raw, err
		case "multipart":
			meta, raw, err := s.readMultipartRelated(c)
			if err != nil {
				return req, nil, err
			}
			if len(strings.TrimSpace(string(meta))) > 0 {
				if err := json.Unmarshal(meta, &req); err != nil {
					return req, nil, errInvalid("Invalid JSON payload received. %v", err)
				}
			}
			if req.Message != nil && req.Message.ThreadID != "" && !validID(req.Message.ThreadID) {
				return req, nil, errInvalid("Invalid thread_id value")
			}
			if len(raw) == 0 {
				raw = nil
			}
			return req, raw, nil
		default:
			// The client uses resumable uploads only for messages past its
			// chunk size (16 MB by default).
			return req, nil, errInvalid("uploadType %q is not supported for drafts by the simulator", t)
		}
	}
	limit := s.maxSize/3*4 + 8 + 1<<20 // as readRawJSON
	body, err := readAllLimited(c.w, c.r.Body, limit)
	if err != nil {
		return req, nil, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return req, nil, errInvalid("Invalid JSON payload received. %v", err)
		}
	}
	if req.Message == nil || req.Message.Raw == "" {
		return req, nil, nil
	}
	if req.Message.ThreadID != "" && !validID(req.Message.ThreadID) {
		return req, nil, errInvalid("Invalid thread_id value")
	}
	raw, ok := decodeBase64Any(req.Message.Raw)
	if !ok {
		return req, nil, errInvalid("Invalid value for ByteString: %.40s", req.Message.Raw)
	}
	return req, raw, nil
}

// threadOf is the threadId a Draft request asks for.
func (r draftRequest) threadOf() string {
	if r.Message == nil {
		return ""
	}
	return r.Message.ThreadID
}

// errNoDraftMessage answers a create or update without a message. The text
// is Gmail's answer to a messages.send without one; for drafts it is
// assumed.
func errNoDraftMessage() error {
	return errBadRequest("'raw' RFC822 payload message string or uploading message via /upload/* URL required")
}

// draftResource renders the answer of create and update: the draft with its
// message's id, threadId and labelIds, as insert answers.
func draftResource(id string, v msgView) *gmail.Draft {
	return &gmail.Draft{Id: id, Message: &gmail.Message{Id: v.m.id, ThreadId: v.m.threadID, LabelIds: v.labelIDs}}
}

// handleCreateDraft serves users.drafts.create.
func (s *Server) handleCreateDraft(c *call, upload bool) error {
	req, raw, err := s.readDraft(c, upload)
	if err != nil {
		return err
	}
	if raw == nil {
		return errNoDraftMessage()
	}
	id, v, err := s.putDraft(c.addr, "", raw, req.threadOf())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, draftResource(id, v))
	return nil
}

// handleUpdateDraft serves users.drafts.update: the draft keeps its id and
// gets a new message. An id in the body is ignored (assumed).
func (s *Server) handleUpdateDraft(c *call, id string, upload bool) error {
	req, raw, err := s.readDraft(c, upload)
	if err != nil {
		return err
	}
	if raw == nil {
		return errNoDraftMessage()
	}
	id, v, err := s.putDraft(c.addr, id, raw, req.threadOf())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, draftResource(id, v))
	return nil
}

// handleSendDraft serves users.drafts.send: the body names the draft by id
// and may carry a new message to send instead of the stored one, as the
// drafts guide describes. The answer is the sent Message (id, threadId,
// labelIds), as messages.send answers.
func (s *Server) handleSendDraft(c *call, upload bool) error {
	req, raw, err := s.readDraft(c, upload)
	if err != nil {
		return err
	}
	if req.ID == "" {
		return errInvalid("Missing draft id")
	}
	m, err := s.sendDraft(c.addr, req.ID, raw, req.threadOf())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, &gmail.Message{Id: m.ID, ThreadId: m.ThreadID, LabelIds: m.LabelIDs})
	return nil
}

// handleGetDraft serves users.drafts.get with format minimal, metadata,
// full (the default) or raw, applied to the draft's message.
func (s *Server) handleGetDraft(c *call, id string) error {
	format, err := parseFormat(c.query.Get("format"), formatMinimal, formatMetadata, formatFull, formatRaw)
	if err != nil {
		return err
	}
	s.mu.RLock()
	m := s.mailboxes[c.addr].draft(id)
	var v msgView
	if m != nil {
		v = view(m)
	}
	s.mu.RUnlock()
	if m == nil {
		return errNotFound()
	}
	writeJSON(c.w, http.StatusOK, &gmail.Draft{Id: id, Message: v.render(format, nil)})
	return nil
}

// handleDeleteDraft serves users.drafts.delete ("Immediately and
// permanently deletes the specified draft. Does not simply trash it.").
func (s *Server) handleDeleteDraft(c *call, id string) error {
	if err := s.deleteDraft(c.addr, id); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleListDrafts serves users.drafts.list: drafts in messages.list order
// (not documented; assumed), each with its message's id and threadId only,
// as documented; q filters on the drafts' messages, includeSpamTrash,
// maxResults (default 100, at most 500) and pageToken as in messages.list.
func (s *Server) handleListDrafts(c *call) error {
	maxResults, includeSpamTrash, cursor, err := listParams(c)
	if err != nil {
		return err
	}

	s.mu.RLock()
	mb := s.mailboxes[c.addr]
	q, err := compileQuery(c.query.Get("q"), mb, s.now())
	if err != nil {
		s.mu.RUnlock()
		return errInvalid("Invalid search query: %v", err)
	}
	includeSpamTrash = includeSpamTrash || q.spamTrash
	var hits []draftRef
	for _, d := range mb.sortedDrafts() {
		if !includeSpamTrash && (d.m.hasLabel(LabelSpam) || d.m.hasLabel(LabelTrash)) {
			continue
		}
		if q.match(d.m) {
			hits = append(hits, d)
		}
	}
	s.mu.RUnlock()

	resp := &gmail.ListDraftsResponse{ResultSizeEstimate: int64(len(hits)), ForceSendFields: []string{"ResultSizeEstimate"}}
	start := 0
	if cursor != nil {
		start = len(hits)
		for i, d := range hits {
			if cursor.after(d.m) {
				start = i
				break
			}
		}
	}
	page := hits[start:min(len(hits), start+maxResults)]
	for _, d := range page {
		resp.Drafts = append(resp.Drafts, &gmail.Draft{Id: d.id, Message: &gmail.Message{Id: d.m.id, ThreadId: d.m.threadID}})
	}
	if start+len(page) < len(hits) {
		last := page[len(page)-1].m
		resp.NextPageToken = listCursor{date: last.internalDate.UnixMilli(), id: last.id}.token()
	}
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}
