package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/postfach/postfach/internal/exportfile"
	"github.com/postfach/postfach/internal/inbox"
)

// runExport runs `postfach export --domain D [--out FILE|-]
// [--include-sealed-tokens]`: every record of a tenant as JSON lines.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const doc = "Write all of a tenant's data (inboxes, members, settings, rules, templates, conversations with their " +
		"notes, activity and Message-IDs, mentions, preferences, mailboxes) as versioned JSON lines, " +
		"to restore with postfach import. Mailboxes' refresh tokens are left out unless --include-sealed-tokens " +
		"(then in the encrypted form the store keeps). See README, \"Taking your data with you\"."
	fs := newFlagSet("export", "", doc, settingsStore, stdout)
	domain := fs.String("domain", "", "the tenant (Google Workspace domain)")
	out := fs.String("out", "-", "the file to write; - is stdout")
	sealed := fs.Bool("include-sealed-tokens", false, "include mailboxes' refresh tokens, still encrypted with this server's POSTFACH_TOKEN_KEYS")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *domain == "" {
		return fmt.Errorf("%w: export: --domain is required (see postfach export --help)", errUsage)
	}
	store, closeStore, err := openCommandStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	stats, err := exportTo(ctx, store, *domain, *out, inbox.ExportOptions{SealedTokens: *sealed}, stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %s: %s\n", *domain, describeStats(stats))
	return nil
}

// exportTo writes domain's export to the file out ("-": stdout). A file
// is written next to its final name and renamed into place once complete,
// so a failed export never leaves a file that looks whole.
func exportTo(ctx context.Context, store inbox.Store, domain, out string, opts inbox.ExportOptions, stdout, stderr io.Writer) (exportfile.Stats, error) {
	if _, err := store.GetTenant(ctx, domain); errors.Is(err, inbox.ErrNotFound) {
		return nil, fmt.Errorf("%w: export: no tenant %s in this store", errUsage, domain)
	} else if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	p := newProgress(stderr, "exporting "+domain)
	if out == "-" {
		stats, err := exportfile.Write(ctx, store, domain, opts, "postfach "+versionString(), time.Now(), stdout, p.update)
		p.done()
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", domain, err)
		}
		return stats, nil
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	stats, err := exportfile.Write(ctx, store, domain, opts, "postfach "+versionString(), time.Now(), f, p.update)
	p.done()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		return nil, fmt.Errorf("export %s to %s: %w", domain, out, err)
	}
	return stats, nil
}

// runImport runs `postfach import --in FILE`.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const doc = "Restore a tenant from a file of postfach export into the store the environment names (SQLite or " +
		"Firestore; export from one and import into the other to move a tenant). The tenant must not exist in the " +
		"store yet, or exist with exactly the file's data (then nothing is written: importing twice is importing once)."
	fs := newFlagSet("import", "", doc, settingsStore, stdout)
	inPath := fs.String("in", "", "the export file; - is stdin")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *inPath == "" {
		return fmt.Errorf("%w: import: --in is required (see postfach import --help)", errUsage)
	}
	in := &countingReader{r: os.Stdin}
	var size int64
	if *inPath != "-" {
		f, err := os.Open(*inPath)
		if err != nil {
			return fmt.Errorf("%w: import: %v", errUsage, err)
		}
		defer f.Close()
		in.r = f
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	store, closeStore, err := openCommandStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	p := newProgress(stderr, "importing")
	if size > 0 {
		p.fraction = func() float64 { return float64(in.n.Load()) / float64(size) }
	}
	res, err := exportfile.Import(ctx, store, in, p.update)
	p.done()
	switch {
	case errors.Is(err, exportfile.ErrTenantDiffers):
		return fmt.Errorf("import: %w; erase it first (postfach erase --domain %s --export FILE) or import into an empty store", err, res.Domain)
	case err != nil:
		return fmt.Errorf("import: %w", err)
	case res.Unchanged:
		fmt.Fprintf(stdout, "%s is in the store already with exactly this data (%s); nothing written\n", res.Domain, describeStats(res.Stats))
	default:
		fmt.Fprintf(stdout, "imported %s: %s; counts recounted for %d inboxes\n", res.Domain, describeStats(res.Stats), len(res.Inboxes))
	}
	return nil
}

// runErase runs `postfach erase --domain D (--export FILE | --no-export)`.
func runErase(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const doc = "Delete a tenant and every record of it from the store the environment names, for good. " +
		"Say what to keep: --export FILE writes the tenant's export first and erases only if that succeeded; " +
		"--no-export erases without one."
	fs := newFlagSet("erase", "", doc, settingsStore, stdout)
	domain := fs.String("domain", "", "the tenant (Google Workspace domain)")
	export := fs.String("export", "", "write the tenant's export to this file first")
	noExport := fs.Bool("no-export", false, "erase without taking an export")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *domain == "":
		return fmt.Errorf("%w: erase: --domain is required (see postfach erase --help)", errUsage)
	case *export == "" && !*noExport:
		return fmt.Errorf("%w: erase: refusing to erase %s without an export: give --export FILE (exported first) or --no-export", errUsage, *domain)
	case *export != "" && *noExport:
		return fmt.Errorf("%w: erase: --export and --no-export exclude each other", errUsage)
	case *export == "-":
		return fmt.Errorf("%w: erase: --export needs a file, not stdout", errUsage)
	}
	store, closeStore, err := openCommandStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	if _, err := store.GetTenant(ctx, *domain); errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("%w: erase: no tenant %s in this store", errUsage, *domain)
	} else if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if *export != "" {
		stats, err := exportTo(ctx, store, *domain, *export, inbox.ExportOptions{}, stdout, stderr)
		if err != nil {
			return fmt.Errorf("erase: nothing erased: %w", err)
		}
		fmt.Fprintf(stderr, "exported %s to %s: %s\n", *domain, *export, describeStats(stats))
	}
	if err := store.EraseTenant(ctx, *domain); err != nil {
		return fmt.Errorf("erase: %w (run it again to finish)", err)
	}
	fmt.Fprintf(stdout, "erased %s\n", *domain)
	return nil
}

// describeStats is "N records (k kind, …)".
func describeStats(s exportfile.Stats) string {
	var parts []string
	for _, k := range inbox.RecordKinds {
		if n := s[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d records (%s)", s.Total(), strings.Join(parts, ", "))
}

// progress reports how far an export or import is on stderr: on a
// terminal as one line redrawn in place every progressStep records, a bar
// when the end is known (an import from a file: bytes read of its size);
// otherwise (a log, a pipe) only the final count, so logs stay readable.
type progress struct {
	w     io.Writer
	label string
	tty   bool
	n     int
	// fraction, if set, says how much of the work is done, 0 to 1.
	fraction func() float64
}

// progressStep is how many records pass between two redraws.
const progressStep = 250

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, label: label, tty: isTerminal(w)}
}

func (p *progress) update(n int) {
	p.n = n
	if p.tty && n%progressStep == 0 {
		fmt.Fprint(p.w, "\r"+p.line())
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.w, "\r"+p.line()+"\n")
		return
	}
	fmt.Fprintf(p.w, "%s: %d records\n", p.label, p.n)
}

// line is the progress line: the label, a bar when the fraction is known,
// and the count.
func (p *progress) line() string {
	if p.fraction == nil {
		return fmt.Sprintf("%s: %d records", p.label, p.n)
	}
	return fmt.Sprintf("%s %s %d records", p.label, bar(p.fraction(), 30), p.n)
}

// bar draws f (clamped to 0..1) as a bar of width cells and a percentage.
func bar(f float64, width int) string {
	f = min(max(f, 0), 1)
	full := int(f * float64(width))
	return "[" + strings.Repeat("=", full) + strings.Repeat(" ", width-full) + fmt.Sprintf("] %3d%%", int(f*100))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
