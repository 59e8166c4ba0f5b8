// Package exportfile is the file format of a tenant's export: JSON lines,
// a header first, then one inbox.Record per line, and the two operations
// on it, Write (a store's tenant to a file) and Import (a file into a
// store). The commands postfach export, import and erase use it; it knows
// stores only through inbox.Store.
//
// # Format
//
// The first line is the header:
//
//	{"kind":"header","format":"postfach-tenant-export","version":1,"domain":"…","exportedAt":"…","tool":"…","sealedTokens":false}
//
// Every further line is one record, {"kind":"<inbox.RecordKind>","<field>":{…}},
// its body the JSON of the domain type (inbox.Tenant, inbox.Inbox, …) as
// the stores read it. Lines come in the order of inbox.RecordKinds, so an
// import writes every parent before its children. Two exports of the same
// state differ only in the header's exportedAt (and tool), and an export
// of an import of an export equals the export once both are sorted.
//
// A reader refuses a file whose format it does not know or whose version
// is newer than Version: a change to the domain types that changes what a
// record means bumps Version.
package exportfile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// Format is the header's format name.
const Format = "postfach-tenant-export"

// Version is the newest format version this package writes and reads.
const Version = 1

// headerKind is the kind of the header line.
const headerKind = "header"

// Error kinds of Import.
var (
	// ErrFormat: the input is no tenant export (no header, a line that is
	// no record, a record of another tenant).
	ErrFormat = errors.New("not a postfach tenant export")
	// ErrVersion: the export's format version is unknown to this build.
	ErrVersion = errors.New("unknown export format version")
	// ErrTenantDiffers: the target store holds the tenant already, with
	// other data than the export.
	ErrTenantDiffers = errors.New("the tenant exists in the target store with other data")
)

// Header is the first line of an export.
type Header struct {
	Kind       string    `json:"kind"`
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Domain     string    `json:"domain"`
	ExportedAt time.Time `json:"exportedAt"`
	Tool       string    `json:"tool"`
	// SealedTokens says whether mailboxes carry their sealed refresh
	// tokens (inbox.ExportOptions.SealedTokens).
	SealedTokens bool `json:"sealedTokens"`
}

// Stats counts the records of an export or import by kind.
type Stats map[inbox.RecordKind]int

// Total is the number of records.
func (s Stats) Total() int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// Write writes the export of domain's tenant in s to w: the header, then
// every record. progress, if not nil, is called with the number of
// records written so far after each one. Returns inbox.ErrNotFound
// (wrapped) if the tenant does not exist.
func Write(ctx context.Context, s inbox.Store, domain string, opts inbox.ExportOptions, tool string, now time.Time, w io.Writer, progress func(int)) (Stats, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	h := Header{Kind: headerKind, Format: Format, Version: Version, Domain: domain, ExportedAt: now.UTC(), Tool: tool, SealedTokens: opts.SealedTokens}
	if err := enc.Encode(h); err != nil {
		return nil, fmt.Errorf("write export header: %w", err)
	}
	stats := Stats{}
	n := 0
	err := s.ExportTenant(ctx, domain, opts, func(r inbox.Record) error {
		normalize(&r)
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write %s record: %w", r.Kind, err)
		}
		stats[r.Kind]++
		n++
		if progress != nil {
			progress(n)
		}
		return nil
	})
	if err != nil {
		return stats, err
	}
	if err := bw.Flush(); err != nil {
		return stats, fmt.Errorf("write export: %w", err)
	}
	return stats, nil
}

// normalize gives empty slices and maps one spelling (nil), so that
// stores that read "none" as nil or as empty write the same line.
func normalize(r *inbox.Record) {
	nilIfEmpty := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	switch {
	case r.Tenant != nil:
		r.Tenant.Admins = nilIfEmpty(r.Tenant.Admins)
	case r.Inbox != nil:
		if len(r.Inbox.Members) == 0 {
			r.Inbox.Members = nil
		}
	case r.AssignState != nil:
		r.AssignState.State.Waiting = nilIfEmpty(r.AssignState.State.Waiting)
	case r.Conversation != nil:
		r.Conversation.Tags = nilIfEmpty(r.Conversation.Tags)
		r.Conversation.MessageIDs = inbox.SortedCopy(r.Conversation.MessageIDs)
		r.Conversation.MessageIDKeys = inbox.SortedCopy(r.Conversation.MessageIDKeys)
	case r.Note != nil:
		r.Note.Mentions = nilIfEmpty(r.Note.Mentions)
	case r.Mailbox != nil:
		if len(r.Mailbox.Labels) == 0 {
			r.Mailbox.Labels = nil
		}
		if len(r.Mailbox.SealedToken) == 0 {
			r.Mailbox.SealedToken = nil
		}
	}
}

// Reader reads an export: the header first, then its records.
type Reader struct {
	Header Header
	sc     *bufio.Scanner
	line   int
}

// maxLine bounds one line: a conversation with tens of thousands of
// Message-IDs, or a note of the longest kind, stays far below it.
const maxLine = 64 << 20

// NewReader reads and checks the header of an export.
func NewReader(r io.Reader) (*Reader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	rd := &Reader{sc: sc}
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read export header: %w", err)
		}
		return nil, fmt.Errorf("%w: the input is empty", ErrFormat)
	}
	rd.line = 1
	var h Header
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Kind != headerKind || h.Format != Format {
		return nil, fmt.Errorf("%w: line 1 is no %s header", ErrFormat, Format)
	}
	if h.Version < 1 || h.Version > Version {
		return nil, fmt.Errorf("%w: the export has format version %d; this postfach reads versions 1 to %d", ErrVersion, h.Version, Version)
	}
	if h.Domain == "" {
		return nil, fmt.Errorf("%w: the header names no domain", ErrFormat)
	}
	rd.Header = h
	return rd, nil
}

// Next returns the next record, checked (inbox.Record.Validate), or
// io.EOF after the last.
func (rd *Reader) Next() (inbox.Record, []byte, error) {
	if !rd.sc.Scan() {
		if err := rd.sc.Err(); err != nil {
			return inbox.Record{}, nil, fmt.Errorf("read export line %d: %w", rd.line+1, err)
		}
		return inbox.Record{}, nil, io.EOF
	}
	rd.line++
	var r inbox.Record
	dec := json.NewDecoder(bytes.NewReader(rd.sc.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return inbox.Record{}, nil, fmt.Errorf("%w: line %d: %v", ErrFormat, rd.line, err)
	}
	if err := r.Validate(rd.Header.Domain); err != nil {
		return inbox.Record{}, nil, fmt.Errorf("%w: line %d: %w", ErrFormat, rd.line, err)
	}
	return r, slices.Clone(rd.sc.Bytes()), nil
}

// Result is what Import did.
type Result struct {
	Domain string
	Stats  Stats
	// Unchanged: the store held the tenant with exactly the export's
	// data already; nothing was written.
	Unchanged bool
	// Inboxes are the inboxes whose counts were recounted.
	Inboxes []string
}

// batchSize is how many records Import hands to one ImportRecords.
const batchSize = 400

// Import restores the export in r into s. The tenant must not exist in s,
// or exist with exactly the export's data (then nothing is written, and
// Result.Unchanged says so: importing twice is importing once). Records
// are written in batches as they are read; then every inbox's kept counts
// are recounted (ReconcileCounts). progress, if not nil, is called with
// the number of records read so far. Returns ErrFormat, ErrVersion or
// ErrTenantDiffers (wrapped), or the store's error.
func Import(ctx context.Context, s inbox.Store, r io.Reader, progress func(int)) (Result, error) {
	rd, err := NewReader(r)
	if err != nil {
		return Result{}, err
	}
	domain := rd.Header.Domain
	res := Result{Domain: domain, Stats: Stats{}}
	_, err = s.GetTenant(ctx, domain)
	switch {
	case err == nil:
		return compare(ctx, s, rd, res, progress)
	case !errors.Is(err, inbox.ErrNotFound):
		return res, fmt.Errorf("import %s: %w", domain, err)
	}
	var batch []inbox.Record
	inboxes := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.ImportRecords(ctx, batch); err != nil {
			return fmt.Errorf("import %s: %w", domain, err)
		}
		batch = batch[:0]
		return nil
	}
	first := true
	for n := 1; ; n++ {
		rec, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		if first && rec.Kind != inbox.RecordTenant {
			return res, fmt.Errorf("%w: the first record is a %s, not the tenant", ErrFormat, rec.Kind)
		}
		first = false
		if rec.Inbox != nil {
			inboxes[rec.Inbox.ID] = true
		}
		if rec.Conversation != nil {
			inboxes[rec.Conversation.InboxID] = true
		}
		batch = append(batch, rec)
		res.Stats[rec.Kind]++
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return res, err
			}
		}
		if progress != nil {
			progress(n)
		}
	}
	if first {
		return res, fmt.Errorf("%w: the export holds no tenant record", ErrFormat)
	}
	if err := flush(); err != nil {
		return res, err
	}
	res.Inboxes = slices.Sorted(maps.Keys(inboxes))
	for _, id := range res.Inboxes {
		if _, err := s.ReconcileCounts(ctx, domain, id); err != nil {
			return res, fmt.Errorf("import %s: recount inbox %s: %w", domain, id, err)
		}
	}
	return res, nil
}

// compare checks that the tenant stored in s holds exactly the records of
// rd: an export of it, line by line, as a multiset of digests of the
// canonical records (Message-IDs as their keys, since a store may keep
// only those).
func compare(ctx context.Context, s inbox.Store, rd *Reader, res Result, progress func(int)) (Result, error) {
	domain := rd.Header.Domain
	stored := map[[32]byte]int{}
	err := s.ExportTenant(ctx, domain, inbox.ExportOptions{SealedTokens: rd.Header.SealedTokens}, func(r inbox.Record) error {
		d, err := digest(r)
		if err != nil {
			return err
		}
		stored[d]++
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("import %s: read the stored tenant: %w", domain, err)
	}
	differ := 0
	for n := 1; ; n++ {
		rec, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		res.Stats[rec.Kind]++
		d, err := digest(rec)
		if err != nil {
			return res, err
		}
		if stored[d] > 0 {
			stored[d]--
		} else {
			differ++
		}
		if progress != nil {
			progress(n)
		}
	}
	for _, left := range stored {
		differ += left
	}
	if differ > 0 {
		return res, fmt.Errorf("%w: %s holds %d records that differ from the export's", ErrTenantDiffers, domain, differ)
	}
	res.Unchanged = true
	return res, nil
}

// digest is the SHA-256 of a record's canonical JSON.
func digest(r inbox.Record) ([32]byte, error) {
	normalize(&r)
	if c := r.Conversation; c != nil && len(c.MessageIDs) > 0 {
		cc := *c
		keys := slices.Clone(cc.MessageIDKeys)
		for _, id := range cc.MessageIDs {
			keys = append(keys, inbox.MessageIDKey(id))
		}
		cc.MessageIDs, cc.MessageIDKeys = nil, inbox.SortedCopy(keys)
		r.Conversation = &cc
	}
	b, err := json.Marshal(r)
	if err != nil {
		return [32]byte{}, fmt.Errorf("encode %s record: %w", r.Kind, err)
	}
	return sha256.Sum256(b), nil
}
