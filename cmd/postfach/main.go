// Command postfach is the Postfach server and its tools.
//
//	postfach serve                  the production server (Cloud Run: PORT, env config)
//	postfach dev [--addr] [--data] [--reset]
//	                                the whole product on one machine: SQLite, a Gmail
//	                                simulator, a demo tenant and /dev/tokens
//	postfach manifest --base-url U  print the add-on deployment for base URL U
//	postfach watch renew            renew Gmail watches due within 24 h
//	postfach admin add --domain D --email E
//	                                bootstrap a tenant's first admin
//	postfach deploy                 create/replace/install the add-on deployment
//	postfach load                   bounded load against a running postfach dev
//
// main only wires things together; every behaviour lives in internal/….
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "postfach:", err)
		os.Exit(1)
	}
}

const usage = `usage: postfach <command> [flags]

commands:
  serve      run the production server (configured by environment, see README)
  dev        run the whole product locally with demo data
  manifest   print the Google Workspace add-on deployment JSON
  deploy     create or replace the add-on deployment (--install: for you), print its authorization
  watch      renew   renew the Gmail watches that expire within a day
  admin      add     make someone an admin of a tenant (creates the tenant)
  load       send bounded add-on load to a running postfach dev and report latencies
`

// run dispatches a subcommand. getenv is os.Getenv in production.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr, getenv)
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr, getenv)
	case "manifest":
		return runManifest(args[1:], stdout, stderr)
	case "deploy":
		return runDeploy(ctx, args[1:], stdout, stderr, getenv)
	case "watch":
		return runWatch(ctx, args[1:], stdout, stderr, getenv)
	case "admin":
		return runAdmin(ctx, args[1:], stdout, stderr, getenv)
	case "load":
		return runLoad(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// logLevel reads LOG_LEVEL (debug, info, warn, error); info by default.
func logLevel(getenv func(string) string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
