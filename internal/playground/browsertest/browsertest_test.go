package browsertest

import (
	"errors"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestLocate(t *testing.T) {
	t.Parallel()
	onPath := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(names, name) {
				return "/usr/bin/" + name, nil
			}
			return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
		}
	}
	tests := []struct {
		name    string
		env     map[string]string
		path    func(string) (string, error)
		want    string
		wantErr bool
	}{
		{name: "chromium on PATH", path: onPath("chromium", "google-chrome"), want: "/usr/bin/chromium"},
		{name: "chrome only", path: onPath("google-chrome"), want: "/usr/bin/google-chrome"},
		{name: "none", path: onPath(), wantErr: true},
		{name: "env wins", env: map[string]string{EnvChromium: "chromium-browser"}, path: onPath("chromium", "chromium-browser"), want: "/usr/bin/chromium-browser"},
		{name: "env names a missing file", env: map[string]string{EnvChromium: "/nonexistent/chrome"}, path: exec.LookPath, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := locate(func(k string) string { return tc.env[k] }, tc.path)
			if tc.wantErr {
				if !errors.Is(err, errNoChromium) {
					t.Fatalf("locate = %q, %v; want an errNoChromium", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("locate = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	cause := &exec.Error{Name: "/nonexistent/chrome", Err: fs.ErrNotExist}
	for _, tc := range []struct {
		name      string
		require   string
		wantFatal bool
	}{
		{name: "skip by default", require: "", wantFatal: false},
		{name: "skip unless exactly 1", require: "yes", wantFatal: false},
		{name: "fail when required", require: "1", wantFatal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fatal, msg := missing(func(k string) string {
				if k == EnvRequire {
					return tc.require
				}
				return ""
			}, cause)
			if fatal != tc.wantFatal {
				t.Errorf("fatal = %v, want %v", fatal, tc.wantFatal)
			}
			if !strings.Contains(msg, "apt-get install chromium") || !strings.Contains(msg, EnvChromium) {
				t.Errorf("message %q does not say how to install a browser", msg)
			}
		})
	}
}

// TestNewSkipsWithoutBrowser runs New for real with POSTFACH_CHROMIUM naming a
// file that does not exist: the test using it must be skipped, not failed.
func TestNewSkipsWithoutBrowser(t *testing.T) {
	t.Setenv(EnvChromium, "/nonexistent/chromium")
	t.Setenv(EnvRequire, "")
	var reached bool
	t.Run("inner", func(t *testing.T) {
		New(t)
		reached = true
	})
	if reached {
		t.Fatal("New returned without a browser")
	}
	// The inner test was skipped (a failure would have failed this test too).
}

// TestBrowser starts the real browser: a page's exception and console.error
// are collected, console.log is not, and a second tab is independent.
func TestBrowser(t *testing.T) {
	t.Parallel()
	b := New(t)
	ctx := b.Context()
	page := `data:text/html,<title>one</title><script>console.log("harmless");console.error("bad", 42);setTimeout(()=>{throw new Error("boom")})</script>`
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	// Wait until both errors arrived; the exception is thrown asynchronously.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`new Promise(r => setTimeout(() => r(true), 50))`)); err != nil {
		t.Fatal(err)
	}
	second := b.NewTab(t)
	if err := chromedp.Do(second, chromedp.Navigate(`data:text/html,<title>two</title>`)); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(second, chromedp.Title())
	if err != nil || title != "two" {
		t.Fatalf("second tab title = %q, %v; want two", title, err)
	}
	title, err = chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "one" {
		t.Fatalf("first tab title = %q, %v; want one", title, err)
	}
	errs := strings.Join(b.Errors(), "\n")
	for _, want := range []string{"console.error: bad 42", "boom"} {
		if !strings.Contains(errs, want) {
			t.Errorf("Errors() = %q, want it to contain %q", errs, want)
		}
	}
	if n := len(b.Errors()); n != 2 {
		t.Errorf("Errors() has %d lines, want 2 (no console.log line): %q", n, errs)
	}
}
