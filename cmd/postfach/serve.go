package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/postfach/postfach/internal/cloudlog"
)

// runServe runs `postfach serve`, the production server: configuration
// from the environment, then the one wiring (newApp) until SIGTERM.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("serve", "", "Run the production server (Cloud Run). It is configured by the environment only.", settingsServe, stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := cloudlog.New(stdout, cfg.LogLevel)
	log.Info("starting", "version", versionString())
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	a, err := newApp(ctx, cfg, l, log)
	if err != nil {
		l.Close()
		return err
	}
	if err := a.start(ctx); err != nil {
		return fmt.Errorf("%w (stop: %v)", err, a.stop())
	}
	return a.wait(ctx)
}
