package sqlitedb

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
)

// cursor is the position after the last conversation of a page: its
// LastMessageAt (Unix milliseconds, as stored) and id. The next page starts
// strictly after it in (last_message_at DESC, id DESC) order, so a cursor
// stays valid while conversations are added or changed.
type cursor struct {
	lastMessageAt int64
	id            string
}

// cursorVersion prefixes every cursor so that the format can change.
const cursorVersion = "c1"

// cursorEncoding is URL-safe, so that a cursor can travel in a query string
// unescaped, and strict, so that altered trailing bits do not decode.
var cursorEncoding = base64.RawURLEncoding.Strict()

// encode returns the opaque form of c: base64url of "c1:<millis>:<id>"
// followed by the payload's CRC-32, which makes a truncated or altered
// cursor fail to decode.
func (c cursor) encode() string {
	payload := []byte(cursorVersion + ":" + strconv.FormatInt(c.lastMessageAt, 10) + ":" + c.id)
	payload = binary.BigEndian.AppendUint32(payload, crc32.ChecksumIEEE(payload))
	return cursorEncoding.EncodeToString(payload)
}

// decodeCursor parses a cursor made by encode; anything else is
// inbox.ErrInvalid.
func decodeCursor(s string) (cursor, error) {
	b, err := cursorEncoding.DecodeString(s)
	if err != nil || len(b) < 4 {
		return cursor{}, invalid("malformed cursor")
	}
	payload, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(payload) != sum {
		return cursor{}, invalid("malformed cursor")
	}
	version, rest, ok1 := strings.Cut(string(payload), ":")
	ms, id, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || version != cursorVersion || id == "" {
		return cursor{}, invalid("malformed cursor")
	}
	at, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return cursor{}, invalid("malformed cursor")
	}
	return cursor{lastMessageAt: at, id: id}, nil
}
