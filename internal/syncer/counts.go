package syncer

import (
	"context"
	"fmt"

	"github.com/postfach/postfach/internal/inbox"
)

// CountsReport is the outcome of ReconcileCounts.
type CountsReport struct {
	Inboxes  int                           // inboxes recounted
	Repaired map[string]inbox.CountsRepair // by "tenant/inbox": counts that had drifted, now repaired
	Failed   map[string]error              // by "tenant/inbox": not recounted
}

// ReconcileCounts recounts the conversations of every inbox of every
// tenant by aggregation (inbox.Store.ReconcileCounts) and repairs the kept
// counts the homepage reads where they drifted, logging each repair as a
// warning: drift means a write bypassed the store's transactions, or a
// fault. An inbox that fails is reported in Failed and the others go on;
// the error is for failing to list the tenants or their inboxes. When ctx
// ends it stops and reports the inboxes counted so far.
func (s *Syncer) ReconcileCounts(ctx context.Context) (CountsReport, error) {
	rep := CountsReport{Repaired: map[string]inbox.CountsRepair{}, Failed: map[string]error{}}
	tenants, err := s.store.ListTenants(ctx)
	if err != nil {
		return rep, fmt.Errorf("reconcile counts: %w", err)
	}
	for _, t := range tenants {
		ibs, err := s.store.ListInboxes(ctx, t.Domain)
		if err != nil {
			return rep, fmt.Errorf("reconcile counts of %s: %w", t.Domain, err)
		}
		for _, ib := range ibs {
			if ctx.Err() != nil {
				return rep, nil // out of time: the next run counts them all again
			}
			key := t.Domain + "/" + ib.ID
			r, err := s.store.ReconcileCounts(ctx, t.Domain, ib.ID)
			if err != nil {
				if ctx.Err() != nil {
					return rep, nil
				}
				rep.Failed[key] = err
				continue
			}
			rep.Inboxes++
			if r.Drifted() {
				rep.Repaired[key] = r
				s.log.WarnContext(ctx, "inbox counts drifted, repaired", "tenant", t.Domain, "inbox", ib.ID,
					"kept", fmt.Sprintf("%+v", r.Kept), "counted", fmt.Sprintf("%+v", r.Counted))
			}
		}
	}
	return rep, nil
}
