package syncer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/gmailsim"
)

// cycleCost is what full ingest cycles cost, summed.
type cycleCost struct {
	msgs, units, gets, writes int64
	elapsed                   time.Duration
}

func (c cycleCost) report(b *testing.B) {
	b.ReportMetric(float64(c.msgs)/c.elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(c.units)/float64(c.msgs), "units/msg")
	b.ReportMetric(float64(c.gets)/float64(c.msgs), "gets/msg")
	b.ReportMetric(float64(c.writes)/float64(c.msgs), "writes/msg")
}

// only keeps the notifications of one mailbox.
func only(notes []gmailsim.Notification, mailbox string) []gmailsim.Notification {
	var out []gmailsim.Notification
	for _, n := range notes {
		if n.EmailAddress == mailbox {
			out = append(out, n)
		}
	}
	return out
}

// cycle runs a full ingest cycle of the mail already delivered to mailbox,
// as production does: every notification pushed (record, background sync),
// the new mail fetched and labelled, the labels' own history records pushed
// back and synced. It adds its Gmail calls, store writes and time to c.
func (e *env) cycle(b *testing.B, mailbox string, msgs int, c *cycleCost) {
	b.Helper()
	notes := only(e.take(), mailbox)
	u0, r0 := e.sim.Usage(mailbox)
	w0 := e.store.writes.Load()
	b.StartTimer()
	start := time.Now()
	e.pushAsync(notes)
	echo := only(e.take(), mailbox)
	if len(echo) == 0 {
		b.Fatal("no echo: the new mail was not labelled")
	}
	e.pushAsync(echo)
	c.elapsed += time.Since(start)
	b.StopTimer()
	u1, r1 := e.sim.Usage(mailbox)
	c.msgs += int64(msgs)
	c.units += u1 - u0
	c.gets += int64(r1["messages.get"] - r0["messages.get"])
	c.writes += e.store.writes.Load() - w0
	if rest := only(e.take(), mailbox); len(rest) != 0 {
		b.Fatalf("the echo's sync wrote to Gmail again: %d notifications", len(rest))
	}
}

// BenchmarkIngestBurst measures full ingest cycles (echo included) of a
// burst of new mail in one member's mailbox: the real gmail/v1 client
// against the simulator over HTTP and the SQLite store. With quota=250
// Gmail's per-user limit is enforced and the client keeps to its default
// rate; with quota=off both are lifted, so the figure is CPU-bound. It
// reports messages per second, Gmail quota units, messages.get and store
// writes per message.
func BenchmarkIngestBurst(b *testing.B) {
	for _, q := range []struct {
		name                string
		server, clientUnits int
	}{{"quota=250", 250, 0}, {"quota=off", 0, 1 << 30}} {
		for _, n := range []int{100, 500} {
			b.Run(fmt.Sprintf("%s/n=%d", q.name, n), func(b *testing.B) {
				var c cycleCost
				b.StopTimer()
				for i := 0; i < b.N; i++ {
					e := newEnv(b, envOptions{quota: q.server, clientUnits: q.clientUnits})
					for j := range n {
						e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("Burst %d", j), fmt.Sprintf("b%d-%d@customer.example", i, j)))
					}
					e.cycle(b, "bob@example.com", n, &c)
				}
				c.report(b)
			})
		}
	}
}

// BenchmarkIngestOne measures the full cycle of one new mail at a time, as
// mail trickles into a mailbox: push, sync, fetch, label, echo push, sync.
// The quota is lifted, so msgs/s is the CPU-bound latency; units/msg is
// what a lone mail costs.
func BenchmarkIngestOne(b *testing.B) {
	e := newEnv(b, envOptions{clientUnits: 1 << 30})
	var c cycleCost
	b.StopTimer()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.deliverToGroup(support, mail("c@customer.example", "support@example.com", "", fmt.Sprintf("One %d", i), fmt.Sprintf("one%d@customer.example", i)))
		e.cycle(b, "bob@example.com", 1, &c)
	}
	c.report(b)
}
