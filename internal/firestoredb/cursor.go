package firestoredb

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
)

// A cursor is the sortKey of the last conversation of a page; the next page
// starts strictly after it (sortKey < cursor, newest first), so a cursor
// stays valid while conversations are added or changed.

// cursorVersion prefixes every cursor so that the format can change.
const cursorVersion = "f1"

// cursorEncoding is URL-safe, so that a cursor can travel in a query string
// unescaped, and strict, so that altered trailing bits do not decode.
var cursorEncoding = base64.RawURLEncoding.Strict()

// encodeCursor returns the opaque form of a sortKey: base64url of
// "f1:<sortKey>" followed by the payload's CRC-32, which makes a truncated
// or altered cursor fail to decode.
func encodeCursor(key string) string {
	payload := []byte(cursorVersion + ":" + key)
	payload = binary.BigEndian.AppendUint32(payload, crc32.ChecksumIEEE(payload))
	return cursorEncoding.EncodeToString(payload)
}

// decodeCursor parses a cursor made by encodeCursor; anything else is
// inbox.ErrInvalid.
func decodeCursor(s string) (string, error) {
	b, err := cursorEncoding.DecodeString(s)
	if err != nil || len(b) < 4 {
		return "", invalid("malformed cursor")
	}
	payload, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(payload) != sum {
		return "", invalid("malformed cursor")
	}
	version, key, ok := strings.Cut(string(payload), ":")
	if !ok || version != cursorVersion || !validSortKey(key) {
		return "", invalid("malformed cursor")
	}
	return key, nil
}

// validSortKey reports whether key has the shape sortKey gives: 16 hex
// digits, a colon, a non-empty id.
func validSortKey(key string) bool {
	if len(key) < 18 || key[16] != ':' {
		return false
	}
	for _, r := range key[:16] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
