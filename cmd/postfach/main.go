// Command postfach is the Postfach server and its tools.
//
//	postfach serve                  the production server (Cloud Run: PORT, env config)
//	postfach dev [--addr] [--data] [--reset] [--store]
//	                                the whole product on one machine: SQLite, a Gmail
//	                                simulator, a demo tenant and /dev/tokens
//	postfach check                  validate serve's configuration before a deploy
//	postfach manifest --base-url U  print the add-on deployment for base URL U
//	postfach watch renew            renew Gmail watches due within 24 h
//	postfach admin add --domain D --email E
//	                                bootstrap a tenant's first admin
//	postfach report --inbox I --domain D --from F --to T [--format csv|json]
//	                                an inbox's report for a period
//	postfach export --domain D [--out FILE] [--include-sealed-tokens]
//	                                all of a tenant's data as versioned JSON lines
//	postfach import --in FILE       restore a tenant from an export into an empty store
//	postfach erase --domain D (--export FILE | --no-export)
//	                                delete a tenant completely
//	postfach deploy                 create/replace/install the add-on deployment
//	postfach load                   bounded load against a running postfach dev
//	postfach loadtest               seeded, in-process load test with a baseline and counts
//	postfach chaos                  the push sync under every fault at once, checked by an oracle
//	postfach version                the module version and VCS revision
//
// main only handles signals and exit codes; run dispatches; app.go is the
// one composition root serve and dev share. Every behaviour lives in
// internal/….
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// errUsage marks a command line that makes no sense; the usage was printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps run's result to the process's exit code: 0 for success and
// for --help, 2 for a command line that makes no sense, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "postfach:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "postfach:", err)
		return 1
	}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error
}

func commands() []command {
	return []command{
		{"serve", "run the production server (configured by the environment; see README)", runServe},
		{"dev", "run the whole product locally with simulators and demo data", runDev},
		{"check", "validate serve's configuration: variables, keys, store, features", runCheck},
		{"manifest", "print the Google Workspace add-on deployment JSON", runManifest},
		{"deploy", "create or replace the add-on deployment (--install: for you), print its authorization", runDeploy},
		{"watch", "renew the Gmail watches that expire within a day (watch renew)", runWatch},
		{"admin", "make someone an admin of a tenant, creating it (admin add)", runAdmin},
		{"report", "print an inbox's report for a period as CSV or JSON", runReport},
		{"export", "write all of a tenant's data as versioned JSON lines (export --domain D --out FILE)", runExport},
		{"import", "restore a tenant from an export into an empty store (import --in FILE)", runImport},
		{"erase", "delete a tenant completely, after an export (erase --domain D --export FILE | --no-export)", runErase},
		{"load", "send bounded add-on load to a running postfach dev and report latencies", runLoad},
		{"loadtest", "seed a store, run the server in-process and measure a realistic mix against a baseline", runLoadtest},
		{"chaos", "run the push sync under every fault at once against local emulators and check that nothing was lost", runChaos},
		{"version", "print the module version and VCS revision", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: postfach <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n'postfach <command> --help' lists a command's flags and the environment it reads.")
}

// run dispatches a subcommand. getenv is os.Getenv in production.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		usage(stderr)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr, getenv)
		}
	}
	usage(stderr)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// newFlagSet makes a subcommand's flag set: --help prints the usage line,
// what the command does, its flags and the environment it reads to stdout
// and succeeds; a bad flag prints the same to stderr.
func newFlagSet(name, argsUsage, doc string, env []setting, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: postfach %s%s\n\n%s\n", name, argsUsage, doc)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nflags:")
			fs.PrintDefaults()
		}
		printSettings(w, env)
	}
	fs.SetOutput(stdout)
	return fs
}

// parseFlags parses args; a bad flag or a stray argument is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	case err != nil:
		return fmt.Errorf("%w: %s: %v (see postfach %s --help)", errUsage, fs.Name(), err, fs.Name())
	case fs.NArg() > 0:
		return fmt.Errorf("%w: %s: unexpected argument %q (see postfach %s --help)", errUsage, fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// subcommand splits "watch renew …" style arguments: it returns the rest
// when args start with want, and a usage error naming want otherwise.
func subcommand(name, want string, args []string, stdout io.Writer, doc string) ([]string, error) {
	if len(args) > 0 && args[0] == want {
		return args[1:], nil
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintf(stdout, "usage: postfach %s %s [flags]\n\n%s\n\n'postfach %s %s --help' lists its flags.\n", name, want, doc, name, want)
		return nil, flag.ErrHelp
	}
	got := "nothing"
	if len(args) > 0 {
		got = fmt.Sprintf("%q", strings.Join(args, " "))
	}
	return nil, fmt.Errorf("%w: postfach %s takes %q, not %s", errUsage, name, want, got)
}
