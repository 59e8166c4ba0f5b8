package gmailsim

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// search is a compiled messages.list q. A message matches when every
// predicate holds (Gmail joins terms with AND).
type search struct {
	preds []func(*message) bool
	// spamTrash is set when the query asks for SPAM or TRASH explicitly
	// (in:spam, label:trash, in:anywhere…), which lifts the default
	// exclusion of those labels, as in Gmail.
	spamTrash bool
}

func (q *search) match(m *message) bool {
	for _, p := range q.preds {
		if !p(m) {
			return false
		}
	}
	return true
}

// qToken is one term of a query: [-]op:value or [-]word, where value or
// word may be a "quoted phrase".
type qToken struct {
	neg   bool
	op    string // lower-cased; "" for a bare word or phrase
	value string
}

// compileQuery parses q against mb (for label names). It reports unsupported
// syntax instead of ignoring it, so a caller never silently gets "everything".
// The caller holds the server lock.
func compileQuery(q string, mb *mailbox, now time.Time) (*search, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	s := &search{}
	for _, t := range toks {
		p, err := s.compileTerm(t, mb, now)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue
		}
		if t.neg {
			inner := p
			p = func(m *message) bool { return !inner(m) }
		}
		s.preds = append(s.preds, p)
	}
	return s, nil
}

func tokenize(q string) ([]qToken, error) {
	var toks []qToken
	i := 0
	for i < len(q) {
		if isSpace(q[i]) {
			i++
			continue
		}
		start := i
		var t qToken
		if q[i] == '-' && i+1 < len(q) && !isSpace(q[i+1]) {
			t.neg = true
			i++
		}
		var sb strings.Builder
		colon := -1
		for i < len(q) && !isSpace(q[i]) {
			c := q[i]
			switch c {
			case '"':
				end := strings.IndexByte(q[i+1:], '"')
				if end < 0 {
					return nil, fmt.Errorf("unterminated quote in %q", q[start:])
				}
				sb.WriteString(q[i+1 : i+1+end])
				i += end + 2
				continue
			case '(', ')', '{', '}':
				return nil, fmt.Errorf("grouping with %q is not supported", string(c))
			case ':':
				if colon < 0 {
					colon = sb.Len()
				}
			}
			sb.WriteByte(c)
			i++
		}
		word := sb.String()
		if colon >= 0 {
			t.op = strings.ToLower(word[:colon])
			t.value = word[colon+1:]
			if t.op == "" || t.value == "" {
				return nil, fmt.Errorf("malformed term %q", q[start:i])
			}
		} else {
			t.value = word
		}
		switch {
		case t.op == "" && word == "OR":
			return nil, fmt.Errorf("OR is not supported")
		case t.op == "" && word == "AND":
			continue // Gmail's default
		case t.op == "" && word == "":
			continue // ""
		}
		toks = append(toks, t)
	}
	return toks, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// compileTerm returns the predicate of one term, or nil for a term that
// matches everything.
func (s *search) compileTerm(t qToken, mb *mailbox, now time.Time) (func(*message) bool, error) {
	v := t.value
	switch t.op {
	case "":
		return textMatch(func(m *message) string { return m.parsed.subject }, v), nil
	case "subject":
		return textMatch(func(m *message) string { return m.parsed.subject }, v), nil
	case "rfc822msgid":
		want := normalizeMsgID(v)
		return func(m *message) bool {
			return want != "" && strings.EqualFold(m.parsed.messageID, want)
		}, nil
	case "from":
		return addressMatch(v, "From"), nil
	case "to":
		return addressMatch(v, "To", "Cc", "Bcc"), nil
	case "cc":
		return addressMatch(v, "Cc"), nil
	case "bcc":
		return addressMatch(v, "Bcc"), nil
	case "deliveredto":
		return addressMatch(v, "Delivered-To"), nil
	case "in", "label":
		lv := strings.ToLower(v)
		if t.op == "in" {
			switch lv {
			case "anywhere":
				s.spamTrash = true
				return nil, nil
			case "drafts":
				lv = "draft"
			case "chats":
				lv = "chat"
			}
		}
		l, ok := mb.findLabel(lv)
		if !ok {
			return func(*message) bool { return false }, nil // Gmail finds nothing
		}
		if (l.id == LabelSpam || l.id == LabelTrash) && !t.neg {
			s.spamTrash = true
		}
		return func(m *message) bool { return m.hasLabel(l.id) }, nil
	case "is":
		switch strings.ToLower(v) {
		case "unread":
			return func(m *message) bool { return m.hasLabel(LabelUnread) }, nil
		case "read":
			return func(m *message) bool { return !m.hasLabel(LabelUnread) }, nil
		case "starred":
			return func(m *message) bool { return m.hasLabel(LabelStarred) }, nil
		case "important":
			return func(m *message) bool { return m.hasLabel(LabelImportant) }, nil
		}
		return nil, fmt.Errorf("unsupported value in %q", "is:"+v)
	case "after", "before":
		at, err := parseQueryDate(v)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", t.op, v, err)
		}
		if t.op == "after" {
			return func(m *message) bool { return !m.internalDate.Before(at) }, nil
		}
		return func(m *message) bool { return m.internalDate.Before(at) }, nil
	case "newer_than", "older_than":
		at, err := parseRelative(v, now)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", t.op, v, err)
		}
		if t.op == "newer_than" {
			return func(m *message) bool { return m.internalDate.After(at) }, nil
		}
		return func(m *message) bool { return m.internalDate.Before(at) }, nil
	}
	return nil, fmt.Errorf("unsupported search operator %q", t.op+":")
}

// textMatch matches a case-insensitive substring of the text get returns.
func textMatch(get func(*message) string, needle string) func(*message) bool {
	needle = strings.ToLower(needle)
	return func(m *message) bool { return strings.Contains(strings.ToLower(get(m)), needle) }
}

// addressMatch matches when an address or display name in any of the named
// fields contains needle, case-insensitively. A field that is not a valid
// address list is matched as plain text.
func addressMatch(needle string, fields ...string) func(*message) bool {
	needle = strings.ToLower(needle)
	return func(m *message) bool {
		for _, f := range m.parsed.root.header {
			if !containsFold(fields, f.name) {
				continue
			}
			list, err := mail.ParseAddressList(f.value)
			if err != nil {
				if strings.Contains(strings.ToLower(f.value), needle) {
					return true
				}
				continue
			}
			for _, a := range list {
				if strings.Contains(strings.ToLower(a.Address), needle) ||
					strings.Contains(strings.ToLower(a.Name), needle) {
					return true
				}
			}
		}
		return false
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// parseQueryDate reads after:/before: values: YYYY/MM/DD, YYYY-MM-DD (start of
// that day in UTC; Gmail uses Pacific time) or Unix seconds.
func parseQueryDate(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{"2006/1/2", "2006-1-2"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want YYYY/MM/DD or Unix seconds")
}

// parseRelative reads newer_than:/older_than: values (Nd, Nm, Ny) and returns
// the point in time they name.
func parseRelative(v string, now time.Time) (time.Time, error) {
	if len(v) < 2 {
		return time.Time{}, fmt.Errorf("want <number>d, m or y")
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 0 || n > 100000 {
		return time.Time{}, fmt.Errorf("want <number>d, m or y")
	}
	switch strings.ToLower(v[len(v)-1:]) {
	case "d":
		return now.AddDate(0, 0, -n), nil
	case "m":
		return now.AddDate(0, -n, 0), nil
	case "y":
		return now.AddDate(-n, 0, 0), nil
	}
	return time.Time{}, fmt.Errorf("want <number>d, m or y")
}
