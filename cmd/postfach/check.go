package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// runCheck runs `postfach check`: it validates a serve configuration before
// a deploy, with serve's own code: the variables, that the keys decode,
// that the store answers, and which features are on. It prints one line
// per finding and fails if serve would not start. Secrets are never
// printed.
func runCheck(ctx context.Context, args []string, stdout, _ io.Writer, getenv func(string) string) error {
	fs := newFlagSet("check", "", "Validate serve's configuration (the same environment) before a deploy: "+
		"variables, keys, the store, and which features are on. Exits 1 if serve would not start.", settingsServe, stdout)
	timeout := fs.Duration("timeout", 20*time.Second, "how long to wait for the store")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stdout, "configuration: FAIL\n  %v\n", err)
		return err
	}
	line := func(what, value string) { fmt.Fprintf(stdout, "  %-20s %s\n", what, value) }
	fmt.Fprintln(stdout, "configuration: ok")
	line("base URL", cfg.BaseURL)
	line("add-on account", cfg.AddonServiceAccount)
	line("OAuth client", cfg.OAuthClientID)
	line("store", cfg.Store.Kind+" ("+cfg.Store.where()+")")

	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	a, err := newApp(ctx, cfg, nil, log)
	if err != nil {
		line("wiring", "FAIL: "+err.Error())
		return err
	}
	defer a.stop()
	// newApp builds mailbox access only with push sync; check the keys
	// whatever the features.
	if _, err := newMailboxAccess(a.Store, cfg, log); err != nil {
		line("mailbox access", "FAIL: "+err.Error())
		return err
	}
	if err := pingStore(ctx, a.Store); err != nil {
		line("store reachable", "FAIL: "+err.Error())
		return err
	}
	line("store reachable", "yes")
	onOff := func(on bool, detail string) string {
		if on {
			return "on" + detail
		}
		return "off"
	}
	push := cfg.Sync.Topic != ""
	line("push sync", onOff(push, " (topic "+cfg.Sync.Topic+", push audience "+cfg.Sync.PushAudience+")"))
	connect, delegation := cfg.Access.ConnectClientID != "", cfg.Access.DelegationKey != ""
	unused := ""
	if !push {
		unused = " (unused: push sync is off)"
	}
	line("connect my mailbox", onOff(connect, ", keys decode"+unused))
	line("delegation", onOff(delegation, ", key parses"+unused))
	line("report charts", onOff(cfg.ReportKey != "", ", key decodes"))
	line("action rate limit", onOff(cfg.RateLimit.On(), fmt.Sprintf(" (%d at once, %g/s per user and instance)", cfg.RateLimit.Burst, cfg.RateLimit.PerSecond)))
	if push && !connect && !delegation {
		fmt.Fprintln(stdout, "warning: push sync is on but no mailbox access is configured: every mailbox will report \"no access\" to its admins")
	}
	for _, g := range []struct{ what, url string }{
		{"Gmail endpoint", cfg.Google.GmailEndpoint}, {"OAuth auth URL", cfg.Google.AuthURL},
		{"OAuth token URL", cfg.Google.TokenURL}, {"OAuth revoke URL", cfg.Google.RevokeURL},
		{"Google certs URL", cfg.Google.CertsURL},
	} {
		if g.url != "" {
			line(g.what, g.url+" (not Google's)")
		}
	}
	return nil
}
