package main

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/report"
)

// chartImage returns the image URL of a report card.
func chartImage(t *testing.T, c *cardpb.Card) string {
	t.Helper()
	for _, s := range c.GetSections() {
		for _, w := range s.GetWidgets() {
			if u := w.GetImage().GetImageUrl(); u != "" {
				return u
			}
		}
	}
	t.Fatalf("card %q has no image", c.GetName())
	return ""
}

// get fetches u without any token, as Google's image proxy does.
func get(t *testing.T, u string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestReportCard: alice, Support's admin, opens its report from the
// homepage: the figures are the report of the store, the chart loads
// without a token under its signed link, and stops loading once the link
// expired; a tampered link is refused; bob, an agent, is refused the card
// even with a forged button.
func TestReportCard(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var skew atomic.Int64
			h := startHarnessWith(t, devConfig{Store: storeConfig{Kind: kind},
				Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})

			home := h.homepage("alice@example.com")
			if home.card.GetName() != "home" {
				t.Fatalf("homepage: %d %s", home.status, home.raw)
			}
			rc := h.click("alice@example.com", buttonFor(t, home.card, "Report", "support"), nil)
			if rc.status != http.StatusOK || rc.card.GetName() != "report" || rc.nav != "pushCard" {
				t.Fatalf("report from the homepage: %d %s %s", rc.status, rc.nav, rc.raw)
			}
			ib, err := h.app.Store.GetInbox(t.Context(), "example.com", "support")
			if err != nil {
				t.Fatal(err)
			}
			want, err := report.Build(t.Context(), h.app.Store, ib, report.LastDays(time.Now(), 7, time.UTC), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want.Received == 0 {
				t.Fatal("the demo has no Support conversation in the last 7 days")
			}
			if text := cardText(rc.card); !strings.Contains(text, "Conversations received") || !strings.Contains(text, "<b>"+strconv.Itoa(want.Received)+"</b>") {
				t.Errorf("card lacks %d received:\n%s", want.Received, text)
			}

			// The chart, as Google's image proxy fetches it: no token.
			u := chartImage(t, rc.card)
			if !strings.HasPrefix(u, h.app.BaseURL+httpapi.PathReportChart+"?k=") {
				t.Fatalf("chart URL %s", u)
			}
			status, ctype, body := get(t, u)
			if status != http.StatusOK || ctype != "image/png" {
				t.Fatalf("chart: %d %s %s", status, ctype, body)
			}
			if _, err := png.Decode(bytes.NewReader(body)); err != nil {
				t.Fatalf("chart is not a PNG: %v", err)
			}

			// Tampered: another inbox or tenant in the payload, or a
			// changed signature.
			parsed, _ := url.Parse(u)
			k := parsed.Query().Get("k")
			payload, sig, _ := strings.Cut(k, ".")
			flip := func(s string) string {
				b := []byte(s)
				if b[len(b)/2] == 'A' {
					b[len(b)/2] = 'B'
				} else {
					b[len(b)/2] = 'A'
				}
				return string(b)
			}
			for name, forged := range map[string]string{
				"payload":   flip(payload) + "." + sig,
				"signature": payload + "." + flip(sig),
				"unsigned":  payload,
				"empty":     "",
			} {
				if status, _, body := get(t, h.app.BaseURL+httpapi.PathReportChart+"?k="+url.QueryEscape(forged)); status != http.StatusForbidden {
					t.Errorf("%s link: %d %s, want 403", name, status, body)
				}
			}
			// Expired: the clock passes the link's lifetime.
			skew.Store(int64(httpapi.ChartTTL + time.Minute))
			if status, _, _ := get(t, u); status != http.StatusForbidden {
				t.Errorf("expired link: %d, want 403", status)
			}
			skew.Store(0)

			// The 30 days replace the card.
			month := h.click("alice@example.com", button(t, rc.card, "Last 30 days"), nil)
			if month.status != http.StatusOK || month.nav != "updateCard" || !strings.Contains(cardText(month.card), "✓ Last 30 days") {
				t.Errorf("last 30 days: %d %s %s", month.status, month.nav, month.raw)
			}

			// Bob is an agent of Support: no button, and the action is
			// refused.
			if strings.Contains(cardText(h.homepage("bob@example.com").card), ">Report<") {
				t.Error("bob's homepage offers the report")
			}
			forged := h.click("bob@example.com", button(t, rc.card, "Last 30 days"), nil)
			if forged.status != http.StatusForbidden || strings.Contains(forged.raw, "Conversations received") {
				t.Errorf("bob's forged report: %d %s", forged.status, forged.raw)
			}
		})
	}
}
