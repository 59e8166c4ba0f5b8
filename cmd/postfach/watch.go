package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/postfach/postfach/internal/cloudlog"
)

// runWatch runs `postfach watch renew`: the same renewal Cloud Scheduler
// triggers through /tasks/renew-watches, from a shell, with serve's
// configuration and wiring.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const doc = "Renew the Gmail watches that expire soon (Cloud Scheduler does this through /tasks/renew-watches). " +
		"It reads serve's configuration."
	rest, err := subcommand("watch", "renew", args, stdout, doc)
	if err != nil {
		return err
	}
	fs := newFlagSet("watch renew", "", doc, settingsServe, stdout)
	within := fs.Duration("within", 24*time.Hour, "renew every watch that expires within this time")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.Sync.Topic == "" {
		return fmt.Errorf("%w: watch renew needs POSTFACH_PUBSUB_TOPIC", errConfig)
	}
	log := cloudlog.New(stderr, cfg.LogLevel)
	// The server's wiring, never started: nothing listens.
	a, err := newApp(ctx, cfg, nil, log)
	if err != nil {
		return err
	}
	defer a.stop()
	res, err := a.Syncer.RenewWatches(ctx, *within)
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
