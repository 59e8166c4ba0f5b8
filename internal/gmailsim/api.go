package gmailsim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/api/gmail/v1"
)

// List paging, as documented for users.messages.list.
const (
	defaultMaxResults = 100
	maxMaxResults     = 500
)

// call is one authenticated API request.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	addr  string   // the authenticated mailbox
	path  []string // path segments after {userId}
	query url.Values
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// routes returns the API handler: one entry point that answers every failure,
// including unknown paths and panics, in Gmail's JSON error shape.
func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.Error("gmailsim: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeError(sw, errInternal())
				}
			}
			s.logger.Debug("gmailsim request", "method", r.Method, "path", r.URL.Path, "status", sw.status)
		}()
		if err := s.dispatch(sw, r); err != nil {
			ae, internal := s.toAPIError(err)
			if internal {
				s.logger.Error("gmailsim: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			writeError(sw, ae)
		}
	})
}

// dispatch authenticates the request, checks {userId} and routes it.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) error {
	escaped := r.URL.EscapedPath()
	rest, upload := strings.CutPrefix(escaped, "/upload/gmail/v1/users/")
	if !upload {
		var ok bool
		if rest, ok = strings.CutPrefix(escaped, "/gmail/v1/users/"); !ok {
			return errNotFound()
		}
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil {
			return errInvalid("Invalid path")
		}
		segs[i] = u
	}
	if len(segs) < 2 || segs[0] == "" {
		return errNotFound()
	}

	addr, err := s.auth(r)
	if err != nil {
		return errUnauthenticated()
	}
	addr = normAddress(addr)
	if segs[0] != "me" && normAddress(segs[0]) != addr {
		return errDelegationDenied(segs[0])
	}
	s.mu.RLock()
	known := s.mailboxes[addr] != nil
	s.mu.RUnlock()
	if !known {
		return errFailedPrecondition("Mail service not enabled")
	}

	c := &call{w: w, r: r, addr: addr, path: segs[1:], query: r.URL.Query()}
	if alt := c.query.Get("alt"); alt != "" && alt != "json" {
		return errInvalid("Invalid value for alt: %s", alt)
	}
	method, handle := s.route(c, upload)
	if handle == nil {
		return errNotFound()
	}
	if method != "" {
		if err := s.limits.admit(addr, method, s.now()); err != nil {
			return err
		}
	}
	return handle()
}

// route finds the handler of a request and the name of its method, for
// quota and faults. The chunks of a resumable upload have no method name:
// the upload is charged once, when it starts. A nil handler means 404.
func (s *Server) route(c *call, upload bool) (string, func() error) {
	p, verb := c.path, c.r.Method
	var id string
	if len(p) > 1 {
		id = p[1]
	}
	is := func(n int, first string, verbs ...string) bool {
		return len(p) == n && p[0] == first && slices.Contains(verbs, verb)
	}
	if upload {
		switch {
		case is(1, "messages", http.MethodPost, http.MethodPut) && c.query.Get("upload_id") != "":
			return "", func() error { return s.handleUpload(c) }
		case is(1, "messages", http.MethodPost, http.MethodPut):
			return "messages.insert", func() error { return s.handleUpload(c) }
		case is(1, "drafts", http.MethodPost):
			return "drafts.create", func() error { return s.handleCreateDraft(c, true) }
		case is(2, "drafts", http.MethodPost) && id == "send":
			return "drafts.send", func() error { return s.handleSendDraft(c, true) }
		case is(2, "drafts", http.MethodPut):
			return "drafts.update", func() error { return s.handleUpdateDraft(c, id, true) }
		}
		return "", nil
	}
	switch {
	case is(1, "profile", http.MethodGet):
		return "getProfile", func() error { return s.handleProfile(c) }
	case is(1, "watch", http.MethodPost):
		return "watch", func() error { return s.handleWatch(c) }
	case is(1, "stop", http.MethodPost):
		return "stop", func() error { return s.handleStop(c) }
	case is(1, "history", http.MethodGet):
		return "history.list", func() error { return s.handleListHistory(c) }
	case is(1, "messages", http.MethodGet):
		return "messages.list", func() error { return s.handleListMessages(c) }
	case is(1, "messages", http.MethodPost):
		return "messages.insert", func() error { return s.handleInsertJSON(c) }
	case is(2, "messages", http.MethodPost) && id == "send":
		return "messages.send", func() error { return s.handleSendJSON(c) }
	case is(2, "messages", http.MethodPost) && id == "batchModify":
		return "messages.batchModify", func() error { return s.handleBatchModify(c) }
	case is(2, "messages", http.MethodGet):
		return "messages.get", func() error { return s.handleGetMessage(c, id) }
	case is(2, "messages", http.MethodDelete):
		return "messages.delete", func() error { return s.handleDeleteMessage(c, id) }
	case is(3, "messages", http.MethodPost) && p[2] == "modify":
		return "messages.modify", func() error { return s.handleModifyMessage(c, id) }
	case is(2, "threads", http.MethodGet):
		return "threads.get", func() error { return s.handleGetThread(c, id) }
	case is(3, "threads", http.MethodPost) && p[2] == "modify":
		return "threads.modify", func() error { return s.handleModifyThread(c, id) }
	case is(1, "drafts", http.MethodGet):
		return "drafts.list", func() error { return s.handleListDrafts(c) }
	case is(1, "drafts", http.MethodPost):
		return "drafts.create", func() error { return s.handleCreateDraft(c, false) }
	case is(2, "drafts", http.MethodPost) && id == "send":
		return "drafts.send", func() error { return s.handleSendDraft(c, false) }
	case is(2, "drafts", http.MethodGet):
		return "drafts.get", func() error { return s.handleGetDraft(c, id) }
	case is(2, "drafts", http.MethodPut):
		return "drafts.update", func() error { return s.handleUpdateDraft(c, id, false) }
	case is(2, "drafts", http.MethodDelete):
		return "drafts.delete", func() error { return s.handleDeleteDraft(c, id) }
	case len(p) == 2 && p[0] == "settings" && p[1] == "sendAs" && verb == http.MethodGet:
		return "settings.sendAs.list", func() error { return s.handleListSendAs(c) }
	case len(p) == 3 && p[0] == "settings" && p[1] == "sendAs" && verb == http.MethodGet:
		return "settings.sendAs.get", func() error { return s.handleGetSendAs(c, p[2]) }
	case is(1, "labels", http.MethodGet):
		return "labels.list", func() error { return s.handleListLabels(c) }
	case is(1, "labels", http.MethodPost):
		return "labels.create", func() error { return s.handleCreateLabel(c) }
	case is(2, "labels", http.MethodGet):
		return "labels.get", func() error { return s.handleGetLabel(c, id) }
	case is(2, "labels", http.MethodPut):
		return "labels.update", func() error { return s.handleChangeLabel(c, id, true) }
	case is(2, "labels", http.MethodPatch):
		return "labels.patch", func() error { return s.handleChangeLabel(c, id, false) }
	case is(2, "labels", http.MethodDelete):
		return "labels.delete", func() error { return s.handleDeleteLabel(c, id) }
	}
	return "", nil
}

// maxJSONBody bounds the JSON body of the methods other than insert.
const maxJSONBody = 1 << 20

// readJSON decodes the request's JSON body into v; an empty body leaves v
// as it is.
func readJSON(c *call, v any) error {
	b, err := readAllLimited(c.w, c.r.Body, maxJSONBody)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errInvalid("Invalid JSON payload received. %v", err)
	}
	return nil
}

// validID reports whether id looks like a Gmail message or thread id.
func validID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseFormat reads the format parameter; full is the default.
func parseFormat(v string, allowed ...string) (string, error) {
	if v == "" {
		return formatFull, nil
	}
	f := strings.ToLower(v)
	if !slices.Contains(allowed, f) {
		return "", errInvalid("Invalid value at 'format', %q", v)
	}
	return f, nil
}

func (s *Server) handleProfile(c *call) error {
	s.mu.RLock()
	mb := s.mailboxes[c.addr]
	p := &gmail.Profile{
		EmailAddress:  mb.address,
		MessagesTotal: int64(len(mb.messages)),
		ThreadsTotal:  int64(len(mb.threads)),
		HistoryId:     mb.historyID,
	}
	s.mu.RUnlock()
	p.ForceSendFields = []string{"MessagesTotal", "ThreadsTotal"}
	writeJSON(c.w, http.StatusOK, p)
	return nil
}

func (s *Server) handleGetMessage(c *call, id string) error {
	format, err := parseFormat(c.query.Get("format"), formatMinimal, formatMetadata, formatFull, formatRaw)
	if err != nil {
		return err
	}
	if !validID(id) {
		return errInvalid("Invalid id value")
	}
	s.mu.RLock()
	m := s.mailboxes[c.addr].messages[id]
	var v msgView
	if m != nil {
		v = view(m)
	}
	s.mu.RUnlock()
	if m == nil {
		return errNotFound()
	}
	writeJSON(c.w, http.StatusOK, v.render(format, c.query["metadataHeaders"]))
	return nil
}

func (s *Server) handleGetThread(c *call, id string) error {
	format, err := parseFormat(c.query.Get("format"), formatMinimal, formatMetadata, formatFull)
	if err != nil {
		return err
	}
	if !validID(id) {
		return errInvalid("Invalid id value")
	}
	s.mu.RLock()
	t := s.mailboxes[c.addr].threads[id]
	var views []msgView
	var historyID uint64
	if t != nil {
		historyID = t.historyID()
		for _, m := range t.messages {
			views = append(views, view(m))
		}
	}
	s.mu.RUnlock()
	if t == nil {
		return errNotFound()
	}
	slices.SortStableFunc(views, func(a, b msgView) int { return a.m.internalDate.Compare(b.m.internalDate) })
	out := &gmail.Thread{Id: id, HistoryId: historyID}
	for _, v := range views {
		out.Messages = append(out.Messages, v.render(format, c.query["metadataHeaders"]))
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// listCursor is the position a nextPageToken continues after: list order is
// internalDate descending, then id descending.
type listCursor struct {
	date int64
	id   string
}

func (k listCursor) token() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%s", k.date, k.id))
}

func parseCursor(tok string) (listCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return listCursor{}, false
	}
	ds, id, ok := strings.Cut(string(b), ":")
	d, err := strconv.ParseInt(ds, 10, 64)
	if !ok || err != nil || !validID(id) {
		return listCursor{}, false
	}
	return listCursor{date: d, id: id}, true
}

// after reports whether m comes after k in list order.
func (k listCursor) after(m *message) bool {
	d := m.internalDate.UnixMilli()
	return d < k.date || d == k.date && m.id < k.id
}

// listParams reads the paging parameters messages.list and drafts.list
// share: maxResults (default 100, at most 500), includeSpamTrash and
// pageToken.
func listParams(c *call) (maxResults int, includeSpamTrash bool, cursor *listCursor, err error) {
	maxResults = defaultMaxResults
	if v := c.query.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, false, nil, errInvalid("Invalid value for maxResults: %s", v)
		}
		if n > 0 {
			maxResults = min(n, maxMaxResults)
		}
	}
	if v := c.query.Get("includeSpamTrash"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return 0, false, nil, errInvalid("Invalid value for includeSpamTrash: %s", v)
		}
		includeSpamTrash = b
	}
	if tok := c.query.Get("pageToken"); tok != "" {
		k, ok := parseCursor(tok)
		if !ok {
			return 0, false, nil, errInvalid("Invalid pageToken")
		}
		cursor = &k
	}
	return maxResults, includeSpamTrash, cursor, nil
}

func (s *Server) handleListMessages(c *call) error {
	maxResults, includeSpamTrash, cursor, err := listParams(c)
	if err != nil {
		return err
	}
	labelIDs := c.query["labelIds"]

	s.mu.RLock()
	mb := s.mailboxes[c.addr]
	q, err := compileQuery(c.query.Get("q"), mb, s.now())
	if err != nil {
		s.mu.RUnlock()
		return errInvalid("Invalid search query: %v", err)
	}
	for _, l := range labelIDs {
		if mb.labels[l] == nil {
			s.mu.RUnlock()
			return errInvalid("Invalid label: %s", l)
		}
		if l == LabelSpam || l == LabelTrash {
			includeSpamTrash = true
		}
	}
	includeSpamTrash = includeSpamTrash || q.spamTrash
	var hits []*message
	for _, m := range mb.order {
		if !includeSpamTrash && (m.hasLabel(LabelSpam) || m.hasLabel(LabelTrash)) {
			continue
		}
		if !slices.ContainsFunc(labelIDs, func(l string) bool { return !m.hasLabel(l) }) && q.match(m) {
			hits = append(hits, m)
		}
	}
	s.mu.RUnlock()

	// ids and dates are immutable, so sorting needs no lock.
	slices.SortFunc(hits, func(a, b *message) int {
		if c := b.internalDate.Compare(a.internalDate); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	resp := &gmail.ListMessagesResponse{ResultSizeEstimate: int64(len(hits)), ForceSendFields: []string{"ResultSizeEstimate"}}
	start := 0
	if cursor != nil {
		start = len(hits)
		for i, m := range hits {
			if cursor.after(m) {
				start = i
				break
			}
		}
	}
	page := hits[start:min(len(hits), start+maxResults)]
	for _, m := range page {
		resp.Messages = append(resp.Messages, &gmail.Message{Id: m.id, ThreadId: m.threadID})
	}
	if start+len(page) < len(hits) {
		last := page[len(page)-1]
		resp.NextPageToken = listCursor{date: last.internalDate.UnixMilli(), id: last.id}.token()
	}
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

// insertParams are the query parameters of users.messages.insert.
type insertParams struct {
	useDateHeader bool // internalDateSource=dateHeader
}

func parseInsertParams(q url.Values) (insertParams, error) {
	var p insertParams
	switch v := q.Get("internalDateSource"); v {
	case "", "receivedTime":
	case "dateHeader":
		p.useDateHeader = true
	default:
		return p, errInvalid("Invalid value for internalDateSource: %s", v)
	}
	if v := q.Get("deleted"); v != "" {
		if b, err := strconv.ParseBool(v); err != nil || b {
			return p, errInvalid("deleted=%s is not supported by the simulator", v)
		}
	}
	return p, nil
}

// insertMetadata is the Message resource a client sends with an insert.
type insertMetadata struct {
	Raw      string   `json:"raw"`
	LabelIDs []string `json:"labelIds"`
	ThreadID string   `json:"threadId"`
}

// storeInsert stores raw for an API insert and answers with the new message.
func (s *Server) storeInsert(c *call, p insertParams, meta insertMetadata, raw []byte) error {
	if meta.ThreadID != "" && !validID(meta.ThreadID) {
		return errInvalid("Invalid thread_id value")
	}
	req := insertRequest{raw: raw, labelIDs: meta.LabelIDs, threadID: meta.ThreadID}
	if p.useDateHeader {
		req.internalDate = parseMail(raw).date // zero (now) when absent
	}
	m, err := s.insert(c.addr, req)
	if err != nil {
		return err
	}
	s.mu.RLock()
	resp := &gmail.Message{Id: m.id, ThreadId: m.threadID, LabelIds: slices.Clone(m.labelIDs)}
	s.mu.RUnlock()
	writeJSON(c.w, http.StatusOK, resp)
	return nil
}

// readRawJSON reads the JSON body of messages.insert and messages.send:
// {"raw": base64url, …}, within the size limit, with Gmail's errors.
func (s *Server) readRawJSON(c *call) (insertMetadata, error) {
	// base64 grows the message by 4/3; allow some room for the other fields.
	limit := s.maxSize/3*4 + 8 + 1<<20
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return insertMetadata{}, errTooLarge(s.maxSize)
		}
		return insertMetadata{}, errInvalid("Cannot read request body")
	}
	var meta insertMetadata
	if err := json.Unmarshal(body, &meta); err != nil {
		return insertMetadata{}, errInvalid("Invalid JSON payload received. %v", err)
	}
	if meta.Raw == "" {
		return insertMetadata{}, errBadRequest("'raw' RFC822 payload message string or uploading message via /upload/* URL required")
	}
	return meta, nil
}

// handleInsertJSON serves POST …/messages with {"raw": base64url, …}.
func (s *Server) handleInsertJSON(c *call) error {
	p, err := parseInsertParams(c.query)
	if err != nil {
		return err
	}
	meta, err := s.readRawJSON(c)
	if err != nil {
		return err
	}
	raw, ok := decodeBase64Any(meta.Raw)
	if !ok {
		return errInvalid("Invalid value for ByteString: %.40s", meta.Raw)
	}
	return s.storeInsert(c, p, meta, raw)
}

// decodeBase64Any decodes base64url or standard base64, padded or not.
func decodeBase64Any(s string) ([]byte, bool) {
	s = strings.TrimRight(strings.Join(strings.Fields(s), ""), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}
