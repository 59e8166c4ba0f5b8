package firestoredb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/postfach/postfach/internal/inbox"
)

// BenchmarkHotPathGrowth measures the sync's per-mail store calls against
// Google's Firestore emulator with n conversations in the tenant (and four
// thread links each, one per member mailbox, as in the chaos run):
// FindConversationsByMessageID, ListThreadLinks, FindThreadLinks and
// GetConversation. They were queries but the last, and the emulator
// answers every query by scanning the collection, so their time grew with
// n (the chaos run's Firestore syncs fell behind on it); all four now read
// by key and stay flat. reads/op is what production Firestore bills.
//
//	FIRESTORE_EMULATOR_HOST=… go test ./internal/firestoredb -run '^$' -bench HotPathGrowth -benchtime 200x
func BenchmarkHotPathGrowth(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			s, _ := MustOpenFresh(b)
			ctx := context.Background()
			const tenant, mailboxes = "growth.example", 4
			seedGrowth(b, s, tenant, n, mailboxes)
			calls := []struct {
				name string
				call func(i int) error
			}{
				{"FindConversationsByMessageID", func(i int) error {
					cs, err := s.FindConversationsByMessageID(ctx, tenant, fmt.Sprintf("<m%d@growth.example>", i%n))
					if err == nil && len(cs) != 1 {
						err = fmt.Errorf("found %d conversations", len(cs))
					}
					return err
				}},
				{"ListThreadLinks", func(i int) error {
					ls, err := s.ListThreadLinks(ctx, tenant, fmt.Sprintf("c%d", i%n))
					if err == nil && len(ls) != mailboxes {
						err = fmt.Errorf("listed %d links", len(ls))
					}
					return err
				}},
				{"FindThreadLinks", func(i int) error {
					ls, err := s.FindThreadLinks(ctx, "m0@growth.example", fmt.Sprintf("t%d", i%n))
					if err == nil && len(ls) != 1 {
						err = fmt.Errorf("found %d links", len(ls))
					}
					return err
				}},
				{"GetConversation", func(i int) error {
					_, err := s.GetConversation(ctx, tenant, fmt.Sprintf("c%d", i%n))
					return err
				}},
			}
			for _, c := range calls {
				b.Run(c.name, func(b *testing.B) {
					r0, _ := s.Stats()
					b.ResetTimer()
					for i := range b.N {
						if err := c.call(i); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					r1, _ := s.Stats()
					b.ReportMetric(float64(r1-r0)/float64(b.N), "reads/op")
				})
			}
		})
	}
}

// seedGrowth writes n conversations of one inbox, each with its Message-ID
// indexed and a thread link per mailbox, through a BulkWriter (creating
// them one transaction at a time would itself take minutes on the
// emulator, for the reason the benchmark shows).
func seedGrowth(b *testing.B, s *Store, tenant string, n, mailboxes int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateTenant(ctx, inbox.Tenant{Domain: tenant, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	ib := inbox.Inbox{TenantID: tenant, ID: "support", Address: "support@" + tenant, Name: "Support",
		Members: []inbox.Member{{Email: "m0@" + tenant, Role: inbox.RoleAgent}}, CreatedAt: now}
	if err := s.CreateInbox(ctx, ib); err != nil {
		b.Fatal(err)
	}
	bw := s.client.BulkWriter(ctx)
	for i := range n {
		c, _, err := inbox.NewConversation(ib, fmt.Sprintf("<m%d@growth.example>", i), fmt.Sprintf("Subject %d", i), "Customer <c@example.org>", "Customer", now, now)
		if err != nil {
			b.Fatal(err)
		}
		c.ID = fmt.Sprintf("c%d", i)
		mids, err := midHashes([]string{fmt.Sprintf("m%d@growth.example", i)})
		if err != nil {
			b.Fatal(err)
		}
		doc, err := encodeConversation(c, mids, &recentDoc{Notes: []noteDoc{}, Activity: []activityDoc{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bw.Set(s.conversationRef(tenant, c.ID), doc); err != nil {
			b.Fatal(err)
		}
		if _, err := bw.Set(s.midRef(tenant, mids[0]), midEntry(map[string]string{ib.ID: c.ID}), firestore.MergeAll); err != nil {
			b.Fatal(err)
		}
		var links []inbox.ThreadLink
		for m := range mailboxes {
			links = append(links, inbox.ThreadLink{TenantID: tenant, ConversationID: c.ID, Mailbox: fmt.Sprintf("m%d@growth.example", m), ThreadID: fmt.Sprintf("t%d", i)})
		}
		err = s.writeLinks(links, func(ref *firestore.DocumentRef, data any, opts ...firestore.SetOption) error {
			_, err := bw.Set(ref, data, opts...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	bw.End()
}
