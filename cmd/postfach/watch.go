package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/postfach/postfach/internal/cloudlog"
)

// runWatch runs `postfach watch renew`: the same renewal Cloud Scheduler
// triggers through /tasks/renew-watches, from a shell.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "renew" {
		fmt.Fprintln(stderr, "usage: postfach watch renew [--within 24h]")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("watch renew", flag.ContinueOnError)
	fs.SetOutput(stderr)
	within := fs.Duration("within", 24*time.Hour, "renew every watch that expires within this time")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := loadServeConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.PubSubTopic == "" {
		return fmt.Errorf("%w: watch renew needs POSTFACH_PUBSUB_TOPIC", errConfig)
	}
	log := cloudlog.New(os.Stderr, cfg.LogLevel)
	store, closeStore, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer closeStore()
	access, err := newMailboxAccess(store, cfg, log)
	if err != nil {
		return err
	}
	res, err := newSyncer(store, cfg, access.provider, log).RenewWatches(ctx, *within)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "renewed %d watch(es)\n", res.Renewed)
	failed := make([]string, 0, len(res.Failed))
	for addr := range res.Failed {
		failed = append(failed, addr)
	}
	sort.Strings(failed)
	for _, addr := range failed {
		fmt.Fprintf(stdout, "failed %s: %v\n", addr, res.Failed[addr])
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d watch(es) not renewed", len(failed))
	}
	return nil
}
