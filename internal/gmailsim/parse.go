package gmailsim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Parsing limits. Mail is parsed once, when it is stored; these bounds keep a
// hostile message from costing more than a few passes over its bytes.
const (
	maxHeaders   = 1000 // header fields kept per header block
	maxPartDepth = 16   // nesting of multipart bodies
	maxParts     = 1000 // MIME parts per message
	snippetRunes = 200  // Gmail's snippets are about this long
)

// field is one header field as stored: the name as written in the message and
// the value unfolded, with RFC 2047 encoded-words decoded and invalid UTF-8
// replaced.
type field struct {
	name  string
	value string
}

// header is a header block in message order.
type header []field

// get returns the first value of the named field (case-insensitive) or "".
func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// part is one node of a message's MIME tree.
type part struct {
	partID   string
	mimeType string
	filename string
	header   header
	body     []byte  // transfer-decoded content; nil for a multipart container
	parts    []*part // children of a multipart container
}

// parsedMail is what the simulator knows about a stored message beyond its
// raw bytes. It is immutable once built.
type parsedMail struct {
	root       *part
	messageID  string   // Message-ID without angle brackets, "" if absent or junk
	inReplyTo  []string // msg-ids without angle brackets
	references []string // msg-ids without angle brackets, oldest first
	subject    string
	date       time.Time // Date header; zero when absent or unparseable
	snippet    string
}

// parseMail parses raw leniently. It never fails: a message without headers is
// all body, a header line that cannot be a field ends the header block, and a
// multipart body whose boundary never appears is kept as a single text part.
func parseMail(raw []byte) *parsedMail {
	h, body := splitHeader(raw)
	budget := maxParts
	root := parsePart(h, body, "", 0, &budget)
	pm := &parsedMail{
		root:       root,
		messageID:  firstMsgID(h.get("Message-ID")),
		inReplyTo:  msgIDs(h.get("In-Reply-To")),
		references: msgIDs(h.get("References")),
		subject:    h.get("Subject"),
		snippet:    snippet(root),
	}
	if d := h.get("Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			pm.date = t
		}
	}
	return pm
}

// splitHeader reads the header block at the start of b and returns it with
// the body that follows. The block ends at the first empty line (the body
// starts after it) or at the first line that is neither a field nor a
// continuation (the body starts with that line).
func splitHeader(b []byte) (header, []byte) {
	type rawField struct {
		name  string
		value []byte // unfolded; appended to, so long folds stay linear
	}
	var fields []rawField
	inField, dropped := false, false // a field is open; it is past maxHeaders
	rest := b
	for len(rest) > 0 {
		line, next := cutLine(rest)
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			rest = next
			break
		}
		if trimmed[0] == ' ' || trimmed[0] == '\t' {
			if !inField {
				break // continuation without a field: not a header block
			}
			if !dropped {
				f := &fields[len(fields)-1]
				f.value = append(f.value, trimmed...)
			}
			rest = next
			continue
		}
		name, value, ok := bytes.Cut(trimmed, []byte(":"))
		name = bytes.TrimRight(name, " \t")
		if !ok || !validFieldName(name) {
			break
		}
		inField, dropped = true, len(fields) >= maxHeaders
		if !dropped {
			fields = append(fields, rawField{name: string(name), value: bytes.Clone(value)})
		}
		rest = next
	}
	var h header
	for _, f := range fields {
		h = append(h, field{name: f.name, value: decodeHeaderValue(string(f.value))})
	}
	return h, rest
}

// cutLine returns the first line of b including its "\n", and the rest.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

// validFieldName reports whether b is an RFC 5322 field name: printable
// US-ASCII except colon.
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// decodeHeaderValue trims an unfolded value and decodes RFC 2047
// encoded-words; undecodable text is kept as written.
func decodeHeaderValue(v string) string {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// charsetReader lets the word decoder read the two 8-bit charsets seen most
// in the wild besides UTF-8. ISO-8859-1 is a subset of windows-1252 apart from
// the C1 range, which is rare enough in headers to ignore.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "windows-1252", "cp1252", "latin1", "iso8859-1":
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(latin1ToUTF8(b)), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}

func latin1ToUTF8(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// parsePart builds the MIME node for a header block and its body. budget is
// the number of parts still allowed in this message.
func parsePart(h header, body []byte, partID string, depth int, budget *int) *part {
	*budget--
	p := &part{partID: partID, header: h, mimeType: "text/plain"}
	ct := h.get("Content-Type")
	var params map[string]string
	if ct != "" {
		mt, ps, err := mime.ParseMediaType(ct)
		if err != nil && mt == "" {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
		}
		if strings.Count(mt, "/") == 1 && !strings.ContainsAny(mt, " \t\"") {
			p.mimeType = mt
			params = ps
		}
	}
	p.filename = filename(h, params)

	if strings.HasPrefix(p.mimeType, "multipart/") {
		if params["boundary"] == "" || depth >= maxPartDepth || *budget <= 0 {
			p.mimeType = "text/plain"
			p.body = body
			return p
		}
		for i, raw := range splitMultipart(body, params["boundary"]) {
			if *budget <= 0 {
				break
			}
			ch, cb := splitHeader(raw)
			id := fmt.Sprint(i)
			if partID != "" {
				id = partID + "." + id
			}
			p.parts = append(p.parts, parsePart(ch, cb, id, depth+1, budget))
		}
		if len(p.parts) > 0 {
			return p
		}
		// No delimiter found: keep the whole body as one text part.
		p.mimeType = "text/plain"
		p.body = body
		return p
	}
	p.body = decodeTransfer(h.get("Content-Transfer-Encoding"), body)
	return p
}

// filename returns the attachment name from Content-Disposition's filename
// or Content-Type's name parameter.
func filename(h header, ctParams map[string]string) string {
	if cd := h.get("Content-Disposition"); cd != "" {
		if _, ps, err := mime.ParseMediaType(cd); err == nil && ps["filename"] != "" {
			return decodeHeaderValue(ps["filename"])
		}
	}
	return decodeHeaderValue(ctParams["name"])
}

// splitMultipart returns the raw body parts (headers included) between the
// delimiter lines of boundary, following RFC 2046 §5.1.1: the line break
// before a delimiter belongs to the delimiter, the preamble and epilogue are
// dropped, and trailing white space on a delimiter line is ignored. A missing
// close delimiter ends the last part at the end of the body.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // offset where the current part's content starts
	off := 0
	for off < len(body) {
		line, _ := cutLine(body[off:])
		next := off + len(line)
		t := bytes.TrimRight(line, " \t\r\n")
		if bytes.HasPrefix(t, delim) {
			tail := t[len(delim):]
			closing := bytes.Equal(tail, []byte("--"))
			if len(tail) == 0 || closing {
				if start >= 0 {
					parts = append(parts, body[start:trimLineBreak(body, start, off)])
				}
				if closing {
					return parts
				}
				start = next
			}
		}
		off = next
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:])
	}
	return parts
}

// trimLineBreak returns end moved back over the CRLF or LF that precedes a
// delimiter line at end, never before start.
func trimLineBreak(b []byte, start, end int) int {
	if end > start && b[end-1] == '\n' {
		end--
		if end > start && b[end-1] == '\r' {
			end--
		}
	}
	return end
}

// decodeTransfer undoes a Content-Transfer-Encoding leniently: bytes that
// cannot be decoded are kept or skipped, never an error.
func decodeTransfer(cte string, b []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return decodeBase64Lenient(b)
	case "quoted-printable":
		return decodeQP(b)
	}
	return b
}

func decodeBase64Lenient(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1] // a lone trailing sextet carries no byte
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}

// decodeQP decodes quoted-printable, keeping malformed escapes as written.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := b[i+1:]
		switch {
		case len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]):
			out = append(out, unhex(rest[0])<<4|unhex(rest[1]))
			i += 2
		case bytes.HasPrefix(rest, []byte("\r\n")):
			i += 2 // soft line break
		case bytes.HasPrefix(rest, []byte("\n")):
			i++
		default:
			// Soft break with trailing white space, or a malformed escape.
			j := 0
			for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
				j++
			}
			if j < len(rest) && (rest[j] == '\n' || rest[j] == '\r') {
				i += j
				if rest[j] == '\r' && j+1 < len(rest) && rest[j+1] == '\n' {
					i++
				}
				i++
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// normalizeMsgID strips white space and angle brackets from one msg-id and
// returns "" for text that cannot be one.
func normalizeMsgID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 998 || strings.ContainsAny(s, " \t\r\n<>") {
		return ""
	}
	return s
}

// msgIDs reads the msg-ids of a References or In-Reply-To value: every
// "<…>" token, or the white-space separated words when there is none.
func msgIDs(v string) []string {
	var out []string
	add := func(s string) {
		if id := normalizeMsgID(s); id != "" {
			out = append(out, id)
		}
	}
	rest, found := v, false
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		found = true
		add(rest[i : i+j+1])
		rest = rest[i+j+1:]
	}
	if !found {
		for _, w := range strings.Fields(v) {
			add(w)
		}
	}
	return out
}

// firstMsgID returns the first msg-id of a Message-ID value, or "".
func firstMsgID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// snippet builds Gmail's short preview: the start of the first text/plain
// part (or tag-stripped text/html), white space collapsed, then HTML-escaped
// as Gmail does ("don't" comes back as "don&#39;t").
func snippet(root *part) string {
	text := ""
	if p := findText(root, "text/plain"); p != nil {
		text = bodyText(p)
	} else if p := findText(root, "text/html"); p != nil {
		text = stripTags(bodyText(p))
	}
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) > snippetRunes {
		r := []rune(text)
		text = strings.TrimSpace(string(r[:snippetRunes]))
	}
	return snippetEscaper.Replace(text)
}

var snippetEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// findText returns the first leaf of the given type that is not an attachment.
func findText(p *part, mimeType string) *part {
	if p == nil {
		return nil
	}
	if len(p.parts) == 0 {
		if p.mimeType == mimeType && p.filename == "" &&
			!strings.HasPrefix(strings.ToLower(p.header.get("Content-Disposition")), "attachment") {
			return p
		}
		return nil
	}
	for _, c := range p.parts {
		if f := findText(c, mimeType); f != nil {
			return f
		}
	}
	return nil
}

// bodyText returns a text part's content as UTF-8, converting the 8-bit
// charsets charsetReader knows.
func bodyText(p *part) string {
	b := p.body
	if len(b) > 64<<10 {
		b = b[:64<<10] // enough for a snippet
	}
	_, params, _ := mime.ParseMediaType(p.header.get("Content-Type"))
	switch strings.ToLower(params["charset"]) {
	case "iso-8859-1", "windows-1252", "cp1252", "latin1":
		return latin1ToUTF8(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// stripTags is a crude HTML to text conversion, good enough for a snippet:
// it drops tags, the content of <style> and <script>, and decodes the common
// entities.
func stripTags(s string) string {
	var sb strings.Builder
	lower := asciiLower(s) // same byte offsets as s
	unclosed := map[string]bool{}
	for i := 0; i < len(s); {
		if s[i] != '<' {
			sb.WriteByte(s[i])
			i++
			continue
		}
		for _, skip := range []string{"style", "script"} {
			if !unclosed[skip] && strings.HasPrefix(lower[i+1:], skip) {
				if end := strings.Index(lower[i:], "</"+skip); end >= 0 {
					i += end + 1
				} else {
					unclosed[skip] = true // don't search again: stays linear
				}
			}
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			break
		}
		i += end + 1
		sb.WriteByte(' ')
	}
	return html.UnescapeString(sb.String())
}

// asciiLower lower-cases A-Z only, so byte offsets stay valid (unlike
// strings.ToLower, which may change the length of non-ASCII text).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
