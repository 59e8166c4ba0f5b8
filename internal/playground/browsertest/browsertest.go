// Package browsertest starts headless Chromium for tests, driven by chromedp.
//
// Every browser test in the repository goes through New: it finds the
// browser, starts it with the flags this project's closed network needs,
// gives the test a tab, collects the page's JavaScript exceptions and
// console.error lines, and stops the browser when the test ends. With no
// Chromium installed the test is skipped with a message saying how to install
// it, unless POSTFACH_REQUIRE_BROWSER=1 (set by .ci/run), which makes that a
// failure.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Environment variables read by New.
const (
	// EnvChromium names the browser binary to start, overriding the search on PATH.
	EnvChromium = "POSTFACH_CHROMIUM"
	// EnvRequire makes a missing browser fail the test instead of skipping it.
	EnvRequire = "POSTFACH_REQUIRE_BROWSER"
)

// candidates are the names looked up on PATH when EnvChromium is unset.
var candidates = []string{"chromium", "chromium-browser", "google-chrome"}

// Browser is one headless Chromium process owned by one test.
type Browser struct {
	tab context.Context // the first tab; its parent chain owns the browser process

	mu     sync.Mutex
	errors []string
	tabs   int // tabs opened so far, to label errors
}

// startAttempts bounds how often New starts a browser that died starting.
const startAttempts = 3

// New starts a fresh headless Chromium for t and stops it in t.Cleanup. With
// no Chromium installed it calls t.Skip with a message saying how to install
// it, unless POSTFACH_REQUIRE_BROWSER=1, then t.Fatal.
func New(t testing.TB) *Browser {
	t.Helper()
	path, err := locate(os.Getenv, exec.LookPath)
	if err != nil {
		if fatal, msg := missing(os.Getenv, err); fatal {
			t.Fatal(msg)
		} else {
			t.Skip(msg)
		}
	}

	b := &Browser{}
	// A browser that dies while starting (seen once in CI, 0.2 s in, with
	// nothing on its stderr but the launcher's noise) is started again, a
	// fresh process, up to startAttempts times.
	var tab context.Context
	for attempt := 1; ; attempt++ {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(path),
				chromedp.Headless,
				chromedp.NoSandbox,
				chromedp.DisableGPU,
				chromedp.NoFirstRun,
				chromedp.Flag("disable-quic", true),
				chromedp.Flag("disable-background-networking", true),
				chromedp.Flag("disable-component-update", true),
				chromedp.Flag("disable-sync", true),
				chromedp.WindowSize(1400, 900),
				// chromedp makes a fresh temporary --user-data-dir and removes it
				// when the browser stops.
			)...)
		var cancelTab context.CancelFunc
		tab, cancelTab = chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen("tab 1")))
		// The first Run starts the browser; it must not carry a deadline,
		// as that would stop the browser.
		if err = chromedp.Do(tab); err == nil {
			t.Cleanup(func() {
				cancelTab()
				cancelAlloc()
			})
			break
		}
		cancelTab()
		cancelAlloc()
		if attempt == startAttempts {
			t.Fatalf("start chromium %s (%d attempts): %v", path, attempt, err)
		}
		t.Logf("start chromium %s, attempt %d: %v; again", path, attempt, err)
	}
	b.tab = withTestDeadline(t, tab)
	return b
}

// Context returns a chromedp context for the test's first tab. Its deadline
// is the test's own (go test -timeout) less a margin, so a test stuck waiting
// for an element fails with a chromedp error rather than a panic.
func (b *Browser) Context() context.Context { return b.tab }

// NewTab opens a second, independent tab in a browser context of its own
// (separate cookies and storage, like a second user on another machine) and
// closes it in t.Cleanup.
func (b *Browser) NewTab(t testing.TB) context.Context {
	t.Helper()
	b.mu.Lock()
	b.tabs++
	label := fmt.Sprintf("tab %d", b.tabs+1)
	b.mu.Unlock()
	ctx, cancel := chromedp.NewContext(b.tab, chromedp.WithNewBrowserContext(), chromedp.WithListener(b.listen(label)))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return withTestDeadline(t, ctx)
}

// Errors returns the JavaScript exceptions and console.error lines seen so
// far in every tab of the browser, oldest first. Tests assert it is empty.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// listen returns a chromedp listener that records page errors under label.
// It runs on chromedp's reading goroutine, so it only appends under a lock.
func (b *Browser) listen(label string) func(ev any) {
	return func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			line = "exception: " + exceptionText(ev.ExceptionDetails)
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			line = "console.error: " + argsText(ev.Args)
		default:
			return
		}
		b.mu.Lock()
		b.errors = append(b.errors, label+": "+line)
		b.mu.Unlock()
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text = d.Exception.Description
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if a == nil {
			continue
		}
		var s string
		switch {
		case len(a.Value) > 0 && json.Unmarshal([]byte(a.Value), &s) == nil:
		case len(a.Value) > 0:
			s = string(a.Value)
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// withTestDeadline bounds ctx by the test's deadline less a margin for
// cleanup, when the test has one.
func withTestDeadline(t testing.TB, ctx context.Context) context.Context {
	d, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return ctx
	}
	deadline, ok := d.Deadline()
	if !ok {
		return ctx
	}
	margin := time.Until(deadline) / 10
	margin = min(max(margin, 5*time.Second), 30*time.Second)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-margin))
	t.Cleanup(cancel)
	return ctx
}

// errNoChromium reports that no browser binary was found.
var errNoChromium = errors.New("no chromium found")

// locate finds the browser: EnvChromium if set (it must exist and be
// executable), else the first of candidates on PATH.
func locate(getenv func(string) string, lookPath func(string) (string, error)) (string, error) {
	if p := getenv(EnvChromium); p != "" {
		path, err := lookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%s: %w", errNoChromium, EnvChromium, p, err)
		}
		return path, nil
	}
	for _, name := range candidates {
		if path, err := lookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s on PATH and %s unset", errNoChromium, strings.Join(candidates, ", "), EnvChromium)
}

// missing decides what a test does when locate failed: skip, or fail when
// EnvRequire is "1". msg says how to install a browser.
func missing(getenv func(string) string, err error) (fatal bool, msg string) {
	msg = fmt.Sprintf("browser test needs Chromium (%v); install it with `apt-get install chromium` or point %s at a Chrome binary", err, EnvChromium)
	if getenv(EnvRequire) == "1" {
		return true, msg + " (" + EnvRequire + "=1, so this is a failure, not a skip)"
	}
	return false, msg
}
