package syncer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/gmailsim"
)

// BenchmarkIngestBurst measures the sync of a burst of new mail in one
// member's mailbox: the real gmail/v1 client against the simulator over
// HTTP (Gmail's per-user quota of 250 units/s enforced) and the SQLite
// store. It reports messages per second, Gmail quota units per message and
// store writes per message.
func BenchmarkIngestBurst(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var msgs, units, writes int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newEnv(b, envOptions{quota: 250})
				for j := range n {
					e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Burst %d", j), fmt.Sprintf("b%d-%d@customer.example", i, j)))
				}
				notes := e.take()
				var last gmailsim.Notification
				for _, nt := range notes {
					if nt.EmailAddress == "bob@example.com" {
						last = nt
					}
				}
				u0, _ := e.sim.Usage("bob@example.com")
				w0 := e.store.writes.Load()
				ctx := context.Background()
				b.StartTimer()
				start := time.Now()
				if err := e.syncer.Notify(ctx, "bob@example.com", last.HistoryID); err != nil {
					b.Fatal(err)
				}
				if err := e.syncer.Sync(ctx, "bob@example.com"); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				u1, _ := e.sim.Usage("bob@example.com")
				msgs += int64(n)
				units += u1 - u0
				writes += e.store.writes.Load() - w0
			}
			b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(units)/float64(msgs), "units/msg")
			b.ReportMetric(float64(writes)/float64(msgs), "writes/msg")
		})
	}
}
