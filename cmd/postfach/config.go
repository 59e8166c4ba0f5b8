package main

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/manifests"
)

// errConfig marks a configuration that cannot run; the process exits before
// serving anything.
var errConfig = errors.New("configuration")

// config is everything one Postfach server is built from. `serve` reads it
// from the environment (loadConfig); `dev` fills it with the addresses of
// the simulators it starts. Both hand it to newApp, the one wiring.
type config struct {
	Addr                string // listen address
	BaseURL             string // the public URL the deployment points at; token audiences
	AddonServiceAccount string // signer of systemIdTokens
	OAuthClientID       string // audience of userIdTokens
	Store               storeConfig
	Google              googleConfig
	// Push sync; on when Sync.Topic is set.
	Sync syncConfig
	// Mailbox access without a user present.
	Access accessConfig
	// ReportKey (POSTFACH_REPORT_KEY, base64 of ≥ 32 bytes) signs the
	// links of report charts; "" leaves charts out of the report card.
	ReportKey string
	// RateLimit bounds each user's card actions (POSTFACH_RATE_BURST,
	// POSTFACH_RATE_PER_SECOND); the zero value is off (dev).
	RateLimit httpapi.RateLimit
	// ShutdownGrace bounds shutdown: finishing requests, background syncs
	// and label mirrors. Cloud Run allows 10 s after SIGTERM.
	ShutdownGrace time.Duration

	LogLevel slog.Level
	// RequestLogLevel is the level of successful requests' log lines
	// (dev: debug).
	RequestLogLevel slog.Level
	// Explain puts the reason of a refused token into the 401 body (dev).
	Explain bool
	// Now is the syncer's clock; time.Now when nil (tests move it).
	Now func() time.Time

	// wrapStore, if set, decorates the opened store (loadtest counts the
	// calls made to it).
	wrapStore func(inbox.Store) inbox.Store

	// dev is what `postfach dev` adds to the wiring: simulators, the dev
	// trust root's routes, the demo. Nil in serve.
	dev *devWorld
}

// googleConfig says where Google is. Empty fields mean Google's real
// endpoints; dev and tests point them at local stand-ins.
type googleConfig struct {
	GmailEndpoint string // Gmail API base URL
	AuthURL       string // OAuth authorization endpoint
	TokenURL      string // OAuth token endpoint (refresh and delegation grants)
	RevokeURL     string // OAuth revocation endpoint
	CertsURL      string // the keys that sign Google's ID tokens
}

// syncConfig configures Gmail push sync.
type syncConfig struct {
	Topic                   string        // projects/P/topics/T that watches publish to
	PushAudience            string        // audience of the push subscription's OIDC token
	PushServiceAccount      string        // the push subscription's service account
	SchedulerServiceAccount string        // Cloud Scheduler's OIDC service account
	ResyncWindow            time.Duration // how far back a full resync reads
	// LeaseTTL is how long a sync's lease of a mailbox lasts unless
	// renewed; a killed instance's mailboxes wait this long for another
	// (0: the syncer's 2 min).
	LeaseTTL time.Duration
	// GmailUnitsPerSecond is the per-mailbox quota the sync stays under;
	// 0 is Gmail's real budget.
	GmailUnitsPerSecond int
}

// accessConfig configures mailbox access without a user: per-user offline
// consent ("Connect my mailbox") and domain-wide delegation.
type accessConfig struct {
	TokenKeys           string // "kid:base64(32 bytes),…", first seals
	StateKey            string // base64 of ≥32 random bytes, signs connect states
	ConnectClientID     string
	ConnectClientSecret string
	DelegationKey       string // service account key JSON
}

// setting is one environment variable a command reads.
type setting struct {
	Name    string
	Meaning string
	Secret  bool // never printed, not even by check
}

// Settings, in the order help and check list them.
var (
	settingsAddon = []setting{
		{"PORT", "listen port (Cloud Run sets it; default 8080)", false},
		{"POSTFACH_BASE_URL", "required: the public https base URL the add-on deployment points at; token audiences are checked against it", false},
		{"POSTFACH_ADDON_SERVICE_ACCOUNT", "required: the add-on's system service account (gcloud workspace-add-ons get-authorization)", false},
		{"POSTFACH_OAUTH_CLIENT_ID", "required: the add-on's OAuth client id (same command), audience of users' ID tokens", false},
	}
	settingsStore = []setting{
		{"POSTFACH_STORE", "required: firestore (production) or sqlite (one instance)", false},
		{"POSTFACH_SQLITE_PATH", "the database file; required with POSTFACH_STORE=sqlite", false},
		{"POSTFACH_FIRESTORE_PROJECT", "Firestore project (default GOOGLE_CLOUD_PROJECT, else detected on Google Cloud)", false},
		{"GOOGLE_CLOUD_PROJECT", "the Google Cloud project", false},
		{"FIRESTORE_EMULATOR_HOST", "host:port of a Firestore emulator (tests, local runs)", false},
	}
	settingsSync = []setting{
		{"POSTFACH_PUBSUB_TOPIC", "projects/P/topics/T that Gmail watches publish to; enables push sync", false},
		{"POSTFACH_PUSH_SERVICE_ACCOUNT", "service account of the push subscription (its OIDC token is verified on /gmail/push); required with push sync", false},
		{"POSTFACH_PUSH_AUDIENCE", "audience set on the push subscription (default POSTFACH_BASE_URL/gmail/push)", false},
		{"POSTFACH_SCHEDULER_SERVICE_ACCOUNT", "service account of the Cloud Scheduler jobs calling /tasks/*; required with push sync", false},
		{"POSTFACH_RESYNC_WINDOW", "how far back a full resync reads when Gmail's history expired (default 720h)", false},
		{"POSTFACH_SYNC_LEASE_TTL", "how long a sync's lease of a mailbox lasts unless renewed (it is, every third of it, while the sync runs); a killed instance's mailboxes wait this long for another (default 2m, at least 10s)", false},
	}
	settingsAccess = []setting{
		{"POSTFACH_CONNECT_CLIENT_ID", "web OAuth client of \"Connect my mailbox\" (offline consent); enables it", false},
		{"POSTFACH_CONNECT_CLIENT_SECRET", "its secret; required with POSTFACH_CONNECT_CLIENT_ID", true},
		{"POSTFACH_TOKEN_KEYS", "kid:base64(32 bytes),…: AES-256-GCM keys sealing refresh tokens, the first seals; required with POSTFACH_CONNECT_CLIENT_ID", true},
		{"POSTFACH_OAUTH_STATE_KEY", "base64 of ≥ 32 random bytes signing the connect flow's state; required with POSTFACH_CONNECT_CLIENT_ID", true},
		{"POSTFACH_DELEGATION_KEY", "service account key JSON with domain-wide delegation for gmail.modify; enables delegation", true},
	}
	settingsGoogle = []setting{
		{"POSTFACH_GMAIL_ENDPOINT", "Gmail API base URL (default Google's; tests and simulators)", false},
		{"POSTFACH_GOOGLE_AUTH_URL", "OAuth authorization endpoint (default Google's)", false},
		{"POSTFACH_GOOGLE_TOKEN_URL", "OAuth token endpoint (default Google's)", false},
		{"POSTFACH_GOOGLE_REVOKE_URL", "OAuth revocation endpoint (default Google's)", false},
		{"POSTFACH_GOOGLE_CERTS_URL", "the keys signing Google's ID tokens (default " + "https://www.googleapis.com/oauth2/v3/certs" + ")", false},
	}
	settingsReports = []setting{
		{"POSTFACH_REPORT_KEY", "base64 of ≥ 32 random bytes signing the report card's chart links (Google's image proxy fetches them); without it the card shows no chart. The same on every instance", true},
	}
	settingsRate = []setting{
		{"POSTFACH_RATE_BURST", fmt.Sprintf("card actions one user may fire at once before being asked to slow down (default %d; 0 turns the limit off). Per instance", httpapi.DefaultRateLimit.Burst), false},
		{"POSTFACH_RATE_PER_SECOND", fmt.Sprintf("card actions per second a user's allowance refills by (default %g)", httpapi.DefaultRateLimit.PerSecond), false},
	}
	settingsLog = []setting{
		{"LOG_LEVEL", "debug, info (default), warn or error", false},
	}
	// settingsServe is everything serve, check and watch read.
	settingsServe = concat(settingsAddon, settingsStore, settingsSync, settingsAccess, settingsGoogle, settingsReports, settingsRate, settingsLog)
)

func concat(lists ...[]setting) []setting {
	var out []setting
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// printSettings writes the environment a command reads, for --help.
func printSettings(w io.Writer, list []setting) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w, "\nenvironment:")
	for _, s := range list {
		fmt.Fprintf(w, "  %s\n    \t%s\n", s.Name, s.Meaning)
	}
}

// loadConfig reads serve's configuration from the environment. Every
// problem is reported at once, in the order of settingsServe.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Addr:                ":" + cmp.Or(getenv("PORT"), "8080"),
		BaseURL:             getenv("POSTFACH_BASE_URL"),
		AddonServiceAccount: getenv("POSTFACH_ADDON_SERVICE_ACCOUNT"),
		OAuthClientID:       getenv("POSTFACH_OAUTH_CLIENT_ID"),
		Google: googleConfig{
			GmailEndpoint: getenv("POSTFACH_GMAIL_ENDPOINT"),
			AuthURL:       getenv("POSTFACH_GOOGLE_AUTH_URL"),
			TokenURL:      getenv("POSTFACH_GOOGLE_TOKEN_URL"),
			RevokeURL:     getenv("POSTFACH_GOOGLE_REVOKE_URL"),
			CertsURL:      getenv("POSTFACH_GOOGLE_CERTS_URL"),
		},
		Sync: syncConfig{
			Topic:                   getenv("POSTFACH_PUBSUB_TOPIC"),
			PushAudience:            getenv("POSTFACH_PUSH_AUDIENCE"),
			PushServiceAccount:      getenv("POSTFACH_PUSH_SERVICE_ACCOUNT"),
			SchedulerServiceAccount: getenv("POSTFACH_SCHEDULER_SERVICE_ACCOUNT"),
		},
		Access: accessConfig{
			TokenKeys:           getenv("POSTFACH_TOKEN_KEYS"),
			StateKey:            getenv("POSTFACH_OAUTH_STATE_KEY"),
			ConnectClientID:     getenv("POSTFACH_CONNECT_CLIENT_ID"),
			ConnectClientSecret: getenv("POSTFACH_CONNECT_CLIENT_SECRET"),
			DelegationKey:       getenv("POSTFACH_DELEGATION_KEY"),
		},
		ReportKey:     getenv("POSTFACH_REPORT_KEY"),
		ShutdownGrace: defaultShutdownGrace,
		LogLevel:      logLevel(getenv),
	}
	var problems []string
	missing := func(name, value string) {
		if value == "" {
			problems = append(problems, name+" is not set")
		}
	}
	missing("POSTFACH_BASE_URL", c.BaseURL)
	missing("POSTFACH_ADDON_SERVICE_ACCOUNT", c.AddonServiceAccount)
	missing("POSTFACH_OAUTH_CLIENT_ID", c.OAuthClientID)
	if c.BaseURL != "" {
		if _, err := manifests.CheckBaseURL(c.BaseURL); err != nil {
			problems = append(problems, fmt.Sprintf("POSTFACH_BASE_URL: %v", err))
		}
	}
	var err error
	if c.Store, err = loadStoreConfig(getenv); err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), errConfig.Error()+": "))
	}
	if t := c.Sync.Topic; t != "" {
		if !strings.HasPrefix(t, "projects/") || !strings.Contains(t, "/topics/") {
			problems = append(problems, fmt.Sprintf("POSTFACH_PUBSUB_TOPIC=%q: want projects/PROJECT/topics/TOPIC", t))
		}
		if c.Sync.PushServiceAccount == "" {
			problems = append(problems, "POSTFACH_PUSH_SERVICE_ACCOUNT is not set (push sync needs it)")
		}
		if c.Sync.SchedulerServiceAccount == "" {
			problems = append(problems, "POSTFACH_SCHEDULER_SERVICE_ACCOUNT is not set (push sync needs it)")
		}
		if c.Sync.PushAudience == "" {
			c.Sync.PushAudience = strings.TrimSuffix(c.BaseURL, "/") + httpapi.PathPush
		}
	}
	if w := getenv("POSTFACH_RESYNC_WINDOW"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("POSTFACH_RESYNC_WINDOW=%q: want a duration such as 720h", w))
		}
		c.Sync.ResyncWindow = d
	}
	if v := getenv("POSTFACH_SYNC_LEASE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second {
			problems = append(problems, fmt.Sprintf("POSTFACH_SYNC_LEASE_TTL=%q: want a duration of at least 10s such as 2m", v))
		}
		c.Sync.LeaseTTL = d
	}
	if c.Access.ConnectClientID != "" {
		missing("POSTFACH_CONNECT_CLIENT_SECRET", c.Access.ConnectClientSecret)
		missing("POSTFACH_TOKEN_KEYS", c.Access.TokenKeys)
		missing("POSTFACH_OAUTH_STATE_KEY", c.Access.StateKey)
	}
	if c.ReportKey != "" {
		if _, err := reportKey(c.ReportKey); err != nil {
			problems = append(problems, "POSTFACH_REPORT_KEY: "+err.Error())
		}
	}
	for _, u := range []struct{ name, value string }{
		{"POSTFACH_GMAIL_ENDPOINT", c.Google.GmailEndpoint},
		{"POSTFACH_GOOGLE_AUTH_URL", c.Google.AuthURL},
		{"POSTFACH_GOOGLE_TOKEN_URL", c.Google.TokenURL},
		{"POSTFACH_GOOGLE_REVOKE_URL", c.Google.RevokeURL},
		{"POSTFACH_GOOGLE_CERTS_URL", c.Google.CertsURL},
	} {
		if u.value != "" && !absoluteURL(u.value) {
			problems = append(problems, fmt.Sprintf("%s=%q: want an absolute http(s) URL", u.name, u.value))
		}
	}
	var rerr error
	if c.RateLimit, rerr = rateLimit(getenv); rerr != nil {
		problems = append(problems, rerr.Error())
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%w: %s", errConfig, strings.Join(problems, "; "))
	}
	return c, nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// logLevel reads LOG_LEVEL (debug, info, warn, error); info by default.
func logLevel(getenv func(string) string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// reportKey decodes POSTFACH_REPORT_KEY; "" is no key (nil).
func reportKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) < httpapi.MinReportKey {
		return nil, fmt.Errorf("want base64 of at least %d random bytes", httpapi.MinReportKey)
	}
	return k, nil
}

// rateLimit reads POSTFACH_RATE_BURST and POSTFACH_RATE_PER_SECOND over
// httpapi.DefaultRateLimit; a burst of 0 turns the limit off.
func rateLimit(getenv func(string) string) (httpapi.RateLimit, error) {
	l := httpapi.DefaultRateLimit
	if v := getenv("POSTFACH_RATE_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return l, fmt.Errorf("POSTFACH_RATE_BURST=%q: want a whole number ≥ 0", v)
		}
		l.Burst = n
	}
	if v := getenv("POSTFACH_RATE_PER_SECOND"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return l, fmt.Errorf("POSTFACH_RATE_PER_SECOND=%q: want a number > 0", v)
		}
		l.PerSecond = f
	}
	if l.Burst == 0 {
		return httpapi.RateLimit{}, nil
	}
	return l, nil
}
