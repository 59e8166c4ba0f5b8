package gmailsim

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Upload limits besides Options.MaxMessageBytes.
const (
	maxMetadataBytes  = 1 << 20 // JSON metadata part of an upload
	maxUploadSessions = 64      // open resumable uploads; the oldest is dropped
)

// uploadSession is an unfinished resumable upload.
type uploadSession struct {
	addr    string
	params  insertParams
	meta    insertMetadata
	data    []byte
	created time.Time
}

// handleUpload serves POST /upload/gmail/v1/users/{userId}/messages in the
// three upload protocols the Go client uses: uploadType=multipart (metadata
// and message in one multipart/related body; what .Media(r) sends for
// messages up to the client's chunk size, 16 MB by default), media (the bare
// message, no metadata) and resumable (bigger messages, sent in chunks).
func (s *Server) handleUpload(c *call) error {
	if id := c.query.Get("upload_id"); id != "" {
		return s.handleUploadChunk(c, id)
	}
	p, err := parseInsertParams(c.query)
	if err != nil {
		return err
	}
	switch t := c.query.Get("uploadType"); t {
	case "media":
		raw, err := readAllLimited(c.w, c.r.Body, s.maxSize)
		if err != nil {
			return err
		}
		return s.storeInsert(c, p, insertMetadata{}, raw)
	case "multipart":
		meta, raw, err := s.readMultipartUpload(c)
		if err != nil {
			return err
		}
		return s.storeInsert(c, p, meta, raw)
	case "resumable":
		return s.startResumable(c, p)
	default:
		return errInvalid("Invalid value for uploadType: %q", t)
	}
}

// readAllLimited reads body, answering 413 past limit bytes.
func readAllLimited(w http.ResponseWriter, body io.ReadCloser, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ErrTooLarge
		}
		return nil, errInvalid("Cannot read request body")
	}
	return b, nil
}

// readMultipartUpload reads a multipart/related upload: a JSON Message
// resource, then the RFC 822 message.
func (s *Server) readMultipartUpload(c *call) (insertMetadata, []byte, error) {
	var meta insertMetadata
	mb, raw, err := s.readMultipartRelated(c)
	if err != nil {
		return meta, nil, err
	}
	if len(strings.TrimSpace(string(mb))) > 0 {
		if err := json.Unmarshal(mb, &meta); err != nil {
			return meta, nil, errInvalid("Invalid JSON payload received. %v", err)
		}
	}
	return meta, raw, nil
}

// readMultipartRelated reads the two parts of a multipart/related upload:
// the JSON metadata (a Message for messages.*, a Draft for drafts.*) as it
// is, then the RFC 822 message.
func (s *Server) readMultipartRelated(c *call) (metadata, raw []byte, err error) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, nil, errInvalid("Multipart upload needs a multipart/related body")
	}
	body := http.MaxBytesReader(c.w, c.r.Body, s.maxSize+maxMetadataBytes+64<<10)
	mr := multipart.NewReader(body, params["boundary"])

	p1, err := mr.NextPart()
	if err != nil {
		return nil, nil, multipartError(err)
	}
	metadata, err = io.ReadAll(io.LimitReader(p1, maxMetadataBytes+1))
	if err != nil {
		return nil, nil, multipartError(err)
	}
	if len(metadata) > maxMetadataBytes {
		return nil, nil, errInvalid("Metadata part too large")
	}

	p2, err := mr.NextPart()
	if err != nil {
		return nil, nil, multipartError(err)
	}
	raw, err = io.ReadAll(io.LimitReader(p2, s.maxSize+1))
	if err != nil {
		return nil, nil, multipartError(err)
	}
	if strings.EqualFold(strings.TrimSpace(p2.Header.Get("Content-Transfer-Encoding")), "base64") {
		raw = decodeBase64Lenient(raw)
	}
	if int64(len(raw)) > s.maxSize {
		return nil, nil, ErrTooLarge
	}
	return metadata, raw, nil
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ErrTooLarge
	}
	return errInvalid("Invalid multipart upload: %v", err)
}

// startResumable opens a resumable upload session. The Location header of the
// answer is where the client sends the message, in one or more chunks.
func (s *Server) startResumable(c *call, p insertParams) error {
	b, err := readAllLimited(c.w, c.r.Body, maxMetadataBytes)
	if err != nil {
		return err
	}
	var meta insertMetadata
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &meta); err != nil {
			return errInvalid("Invalid JSON payload received. %v", err)
		}
	}
	if meta.ThreadID != "" && !validID(meta.ThreadID) {
		return errInvalid("Invalid thread_id value")
	}
	if v := c.r.Header.Get("X-Upload-Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > s.maxSize {
			return ErrTooLarge
		}
	}

	id := rand.Text()
	s.mu.Lock()
	mb := s.mailboxes[c.addr]
	if _, err := mb.checkLabels(meta.LabelIDs); err != nil {
		s.mu.Unlock()
		return err
	}
	if meta.ThreadID != "" && mb.threads[meta.ThreadID] == nil {
		s.mu.Unlock()
		return ErrThreadNotFound
	}
	if len(s.uploads) >= maxUploadSessions {
		s.dropOldestUpload()
	}
	s.uploads[id] = &uploadSession{addr: c.addr, params: p, meta: meta, created: s.now()}
	s.mu.Unlock()

	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	loc := url.URL{Scheme: scheme, Host: c.r.Host, Path: c.r.URL.Path,
		RawQuery: url.Values{"uploadType": {"resumable"}, "upload_id": {id}}.Encode()}
	c.w.Header().Set("Location", loc.String())
	c.w.Header().Set("X-GUploader-UploadID", id)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// dropOldestUpload forgets the oldest open upload. The caller holds s.mu.
func (s *Server) dropOldestUpload() {
	var oldest string
	var at time.Time
	for id, u := range s.uploads {
		if oldest == "" || u.created.Before(at) {
			oldest, at = id, u.created
		}
	}
	delete(s.uploads, oldest)
}

// handleUploadChunk receives one chunk of a resumable upload. Content-Range
// says where it goes ("bytes 0-262143/*", "bytes 262144-300000/300001",
// "bytes */300001"); without it the body is the whole message. A chunk
// overlapping what was received (a retry) is accepted once. Until the
// message is complete the answer is "resume incomplete": 308, or 200 with
// X-Http-Status-Code-Override: 308 when the client sent X-GUploader-No-308.
func (s *Server) handleUploadChunk(c *call, id string) error {
	data, err := readAllLimited(c.w, c.r.Body, s.maxSize+1)
	if err != nil {
		return err
	}
	first, total := int64(0), int64(len(data))
	if cr := c.r.Header.Get("Content-Range"); cr != "" {
		var last int64
		first, last, total, err = parseContentRange(cr)
		if err != nil {
			return errInvalid("Invalid Content-Range: %s", cr)
		}
		if want := last - first + 1; last >= first && int64(len(data)) != want {
			return errInvalid("Content-Range %s does not match a body of %d bytes", cr, len(data))
		}
	}

	s.mu.Lock()
	u := s.uploads[id]
	if u == nil || u.addr != c.addr {
		s.mu.Unlock()
		return errNotFound()
	}
	have := int64(len(u.data))
	switch {
	case first > have:
		s.mu.Unlock()
		return errInvalid("Chunk starts at %d, but only %d bytes were received", first, have)
	case first+int64(len(data)) > have:
		u.data = append(u.data, data[have-first:]...)
	}
	n := int64(len(u.data))
	if n > s.maxSize || total > s.maxSize {
		delete(s.uploads, id)
		s.mu.Unlock()
		return ErrTooLarge
	}
	if total >= 0 && n > total {
		delete(s.uploads, id)
		s.mu.Unlock()
		return errInvalid("Received %d bytes, more than the declared %d", n, total)
	}
	if total < 0 || n < total {
		s.mu.Unlock()
		if n > 0 {
			c.w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
		}
		if c.r.Header.Get("X-GUploader-No-308") == "yes" {
			c.w.Header().Set("X-Http-Status-Code-Override", "308")
			c.w.WriteHeader(http.StatusOK)
		} else {
			c.w.WriteHeader(http.StatusPermanentRedirect)
		}
		return nil
	}
	delete(s.uploads, id)
	s.mu.Unlock()
	return s.storeInsert(c, u.params, u.meta, u.data)
}

// parseContentRange reads "bytes a-b/N", "bytes a-b/*" or "bytes */N".
// total is -1 when unknown; last < first when the request carries no data.
func parseContentRange(v string) (first, last, total int64, err error) {
	bad := fmt.Errorf("malformed")
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(spec, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return 0, 0, 0, bad
		}
	}
	if rng == "*" {
		if total < 0 {
			return 0, 0, 0, bad
		}
		return total, total - 1, total, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	if first, err = strconv.ParseInt(a, 10, 64); err != nil || first < 0 {
		return 0, 0, 0, bad
	}
	if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
		return 0, 0, 0, bad
	}
	if total >= 0 && last >= total {
		return 0, 0, 0, bad
	}
	return first, last, total, nil
}
