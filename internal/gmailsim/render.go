package gmailsim

import (
	"encoding/base64"
	"slices"
	"strings"

	"google.golang.org/api/gmail/v1"
)

// The response resources are the client library's own types, so field names
// and encodings (historyId and internalDate as JSON strings, sizeEstimate as
// a number) cannot drift from what the client decodes.

// Message formats of messages.get and threads.get.
const (
	formatMinimal  = "minimal"
	formatMetadata = "metadata"
	formatFull     = "full"
	formatRaw      = "raw"
)

// msgView is a message with its mutable fields copied under the lock, so it
// can be rendered without holding it.
type msgView struct {
	m         *message
	labelIDs  []string
	historyID uint64
}

// view snapshots m. The caller holds s.mu.
func view(m *message) msgView {
	return msgView{m: m, labelIDs: slices.Clone(m.labelIDs), historyID: m.historyID}
}

// render builds the Message resource for a format. metadataHeaders filters
// payload.headers in the metadata format (case-insensitively); empty means
// all headers.
func (v msgView) render(format string, metadataHeaders []string) *gmail.Message {
	m := v.m
	out := &gmail.Message{
		Id:           m.id,
		ThreadId:     m.threadID,
		LabelIds:     v.labelIDs,
		Snippet:      m.parsed.snippet,
		HistoryId:    v.historyID,
		InternalDate: m.internalDate.UnixMilli(),
		SizeEstimate: int64(len(m.raw)),
	}
	switch format {
	case formatMetadata:
		out.Payload = &gmail.MessagePart{
			MimeType: m.parsed.root.mimeType,
			Headers:  renderHeaders(m.parsed.root.header, metadataHeaders),
		}
	case formatFull:
		out.Payload = renderPart(m.parsed.root)
	case formatRaw:
		out.Raw = base64.URLEncoding.EncodeToString(m.raw)
	}
	return out
}

func renderHeaders(h header, only []string) []*gmail.MessagePartHeader {
	out := make([]*gmail.MessagePartHeader, 0, len(h))
	for _, f := range h {
		if len(only) > 0 && !slices.ContainsFunc(only, func(n string) bool { return strings.EqualFold(n, f.name) }) {
			continue
		}
		out = append(out, &gmail.MessagePartHeader{Name: f.name, Value: f.value})
	}
	return out
}

// renderPart renders a MIME node the way format=full shows it: containers
// have an empty body and parts, leaves carry their transfer-decoded content
// as base64url data (also for attachments; see the package doc).
func renderPart(p *part) *gmail.MessagePart {
	out := &gmail.MessagePart{
		PartId:   p.partID,
		MimeType: p.mimeType,
		Filename: p.filename,
		Headers:  renderHeaders(p.header, nil),
		Body:     &gmail.MessagePartBody{Size: int64(len(p.body))},
	}
	if len(p.body) > 0 {
		out.Body.Data = base64.URLEncoding.EncodeToString(p.body)
	}
	for _, c := range p.parts {
		out.Parts = append(out.Parts, renderPart(c))
	}
	return out
}
