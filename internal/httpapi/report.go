package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/cards"
	"github.com/postfach/postfach/internal/chart"
	"github.com/postfach/postfach/internal/desk"
	"github.com/postfach/postfach/internal/i18n"
	"github.com/postfach/postfach/internal/report"
)

// PathReportChart serves the report card's chart image. Google's image
// proxy fetches it without the add-on's tokens, so what authorizes it is
// the link itself: signed by this server, valid for ChartTTL.
const PathReportChart = "/reports/chart.png"

// ChartTTL is how long a chart link works after its card was rendered.
const ChartTTL = 15 * time.Minute

// MinReportKey is the shortest Options.ReportKey accepted.
const MinReportKey = 32

// macChart keeps the chart links' MACs apart from any other use of the
// key.
const macChart = "postfach/report-chart/v1\x00"

// Chart link errors; both answer 403.
var (
	errChartForged  = errors.New("chart link not signed by this server")
	errChartExpired = errors.New("chart link expired")
)

// chartLink is what a chart link carries and its MAC covers: whose inbox,
// which period, the figures drawn, the language of the labels and the
// expiry. The image is drawn from the link alone: the endpoint reads no
// store, so no link can show anything but what an admin's card was given.
type chartLink struct {
	Tenant   string `json:"t"`
	Inbox    string `json:"i"`
	From     string `json:"f"` // the period's first day, YYYY-MM-DD
	Lang     string `json:"l"`
	Received []int  `json:"r"`
	Resolved []int  `json:"c"`
	Exp      int64  `json:"e"` // Unix seconds
}

// signChart returns the query value of a chart link: payload.mac, both
// base64url, the MAC HMAC-SHA256 over the encoded payload.
func signChart(key []byte, l chartLink) (string, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("encode chart link: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(chartMAC(key, payload)), nil
}

// verifyChart checks a chart link's MAC, then its expiry against now.
func verifyChart(key []byte, s string, now time.Time) (chartLink, error) {
	payload, sig, ok := strings.Cut(s, ".")
	if !ok || payload == "" || len(s) > 4096 {
		return chartLink{}, errChartForged
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, chartMAC(key, payload)) {
		return chartLink{}, errChartForged
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return chartLink{}, errChartForged
	}
	var l chartLink
	if err := json.Unmarshal(b, &l); err != nil || len(l.Received) != len(l.Resolved) || len(l.Received) > report.MaxDays {
		return chartLink{}, errChartForged
	}
	if !now.Before(time.Unix(l.Exp, 0)) {
		return l, errChartExpired
	}
	return l, nil
}

func chartMAC(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(macChart))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// chartURL is the signed link of a report's chart, or "" when charts are
// off (no key) or the link cannot be made.
func (s *Server) chartURL(c echo.Context, r report.Report) string {
	if s.reportKey == nil {
		return ""
	}
	k, err := signChart(s.reportKey, chartLink{
		Tenant: r.TenantID, Inbox: r.InboxID, From: r.Period.FirstDay(), Lang: string(s.printer(c).Lang()),
		Received: r.ReceivedPerDay, Resolved: r.ResolvedPerDay, Exp: s.now().Add(ChartTTL).Unix(),
	})
	if err != nil {
		s.log.WarnContext(c.Request().Context(), "chart link", "error", err)
		return ""
	}
	return s.baseURL + PathReportChart + "?k=" + url.QueryEscape(k)
}

// reportScreen answers the report buttons: from the homepage or the
// inbox's settings it pushes the card; from the card itself (another
// period) it replaces it.
func (s *Server) reportScreen(c echo.Context) error {
	p := addon.EventFrom(c).Common.Param
	days := desk.ReportDays[0]
	if v := p(cards.ParamValue); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest(fmt.Errorf("report period %q", v))
		}
		days = n
	}
	v, err := s.desk.Report(c.Request().Context(), user(c), p(cards.ParamInbox), days)
	if err != nil {
		return err
	}
	card := s.cardsFor(c).Report(v, s.chartURL(c, v.Report))
	if p(cards.ParamValue) == "" {
		return push(c, card)
	}
	return update(c, card, "")
}

// reportChart serves a chart link's image.
func (s *Server) reportChart(c echo.Context) error {
	l, err := verifyChart(s.reportKey, c.QueryParam("k"), s.now())
	if err != nil {
		s.log.WarnContext(c.Request().Context(), "chart refused", "reason", err.Error(), "tenant", l.Tenant, "inbox", l.Inbox)
		return echo.NewHTTPError(http.StatusForbidden, "invalid or expired link").SetInternal(err)
	}
	p := i18n.NewPrinter(i18n.Lang(l.Lang), time.UTC)
	from, err := time.Parse(time.DateOnly, l.From)
	if err != nil {
		return badRequest(err)
	}
	labels := make([]string, len(l.Received))
	for i := range labels {
		labels[i] = from.AddDate(0, 0, i).Format(p.T("reports.chart_day_layout"))
	}
	png, err := chart.PNG(chart.Bars{
		Labels: labels,
		Series: []chart.Series{
			{Name: p.T("reports.chart_received"), Values: l.Received},
			{Name: p.T("reports.chart_resolved"), Values: l.Resolved},
		},
		YLabel: p.T("reports.chart_axis"),
	})
	if err != nil {
		return err
	}
	// Private: the link is a capability; only the proxy that was given it
	// may keep the image, until it expires.
	c.Response().Header().Set("Cache-Control", "private, max-age="+strconv.Itoa(int(ChartTTL/time.Second)))
	return c.Blob(http.StatusOK, "image/png", png)
}
