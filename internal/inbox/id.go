package inbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

// lastID holds the time part of the last id NewID returned in this process.
var lastID atomic.Uint64

// NewID returns a unique id that sorts by creation: 16 hex digits of the Unix
// time in nanoseconds, then 8 random hex digits. Within one process the time
// part strictly increases, so two ids made in the same nanosecond (or under
// a clock that stands still, as in tests) still sort in the order they were
// made; across processes the random part keeps them unique.
func NewID(now time.Time) string {
	t := uint64(now.UnixNano())
	for {
		last := lastID.Load()
		next := max(t, last+1)
		if lastID.CompareAndSwap(last, next) {
			t = next
			break
		}
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%016x%s", t, hex.EncodeToString(b[:]))
}
