package main

import (
	"errors"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/httpapi"
	"github.com/postfach/postfach/internal/sqlitedb"
)

func TestLoadServeConfig(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"POSTFACH_BASE_URL":              "https://postfach.example.com",
		"POSTFACH_ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
		"POSTFACH_OAUTH_CLIENT_ID":       "1.apps.googleusercontent.com",
		"POSTFACH_STORE":                 "sqlite",
		"POSTFACH_SQLITE_PATH":           "/var/lib/postfach/postfach.db",
	}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		env     func(string) string
		wantErr string
		check   func(config) bool
	}{
		{"defaults", with(), "", func(c config) bool {
			return c.Addr == ":8080" && c.Store.Kind == "sqlite" && c.Sync.Topic == "" && c.ShutdownGrace == defaultShutdownGrace &&
				c.RateLimit == httpapi.DefaultRateLimit
		}},
		{"rate limit", with("POSTFACH_RATE_BURST", "10", "POSTFACH_RATE_PER_SECOND", "0.5"), "", func(c config) bool {
			return c.RateLimit == httpapi.RateLimit{Burst: 10, PerSecond: 0.5}
		}},
		{"rate limit off", with("POSTFACH_RATE_BURST", "0"), "", func(c config) bool { return !c.RateLimit.On() }},
		{"bad rate burst", with("POSTFACH_RATE_BURST", "-1"), "POSTFACH_RATE_BURST", nil},
		{"bad rate refill", with("POSTFACH_RATE_PER_SECOND", "0"), "POSTFACH_RATE_PER_SECOND", nil},
		{"cloud run", with("PORT", "9090", "POSTFACH_STORE", "firestore", "POSTFACH_SQLITE_PATH", "", "GOOGLE_CLOUD_PROJECT", "p"), "", func(c config) bool {
			return c.Addr == ":9090" && c.Store.Kind == "firestore" && c.Store.ProjectID == "p"
		}},
		{"push sync", with("POSTFACH_PUBSUB_TOPIC", "projects/p/topics/t", "POSTFACH_PUSH_SERVICE_ACCOUNT", "push@p.iam.gserviceaccount.com",
			"POSTFACH_SCHEDULER_SERVICE_ACCOUNT", "sched@p.iam.gserviceaccount.com", "POSTFACH_RESYNC_WINDOW", "48h", "POSTFACH_SYNC_LEASE_TTL", "30s"), "", func(c config) bool {
			return c.Sync.PushAudience == "https://postfach.example.com/gmail/push" && c.Sync.ResyncWindow == 48*time.Hour && c.Sync.LeaseTTL == 30*time.Second
		}},
		{"google endpoints", with("POSTFACH_GMAIL_ENDPOINT", "http://127.0.0.1:9/", "POSTFACH_GOOGLE_CERTS_URL", "http://127.0.0.1:9/certs"), "", func(c config) bool {
			return c.Google.GmailEndpoint == "http://127.0.0.1:9/" && c.Google.CertsURL == "http://127.0.0.1:9/certs"
		}},
		{"missing base url", with("POSTFACH_BASE_URL", ""), "POSTFACH_BASE_URL is not set", nil},
		{"plain http base url", with("POSTFACH_BASE_URL", "http://postfach.example.com"), "https", nil},
		{"bad topic", with("POSTFACH_PUBSUB_TOPIC", "gmail"), "projects/PROJECT/topics/TOPIC", nil},
		{"push without accounts", with("POSTFACH_PUBSUB_TOPIC", "projects/p/topics/t"), "POSTFACH_PUSH_SERVICE_ACCOUNT", nil},
		{"bad store", with("POSTFACH_STORE", "postgres"), `POSTFACH_STORE="postgres": want firestore or sqlite`, nil},
		// Finding 3: no store is guessed.
		{"no store", with("POSTFACH_STORE", "", "POSTFACH_SQLITE_PATH", ""), "POSTFACH_STORE is not set", nil},
		{"sqlite without a path", with("POSTFACH_SQLITE_PATH", ""), "POSTFACH_SQLITE_PATH is not set", nil},
		{"bad resync window", with("POSTFACH_RESYNC_WINDOW", "a week"), "POSTFACH_RESYNC_WINDOW", nil},
		{"lease ttl too short", with("POSTFACH_SYNC_LEASE_TTL", "1s"), "POSTFACH_SYNC_LEASE_TTL", nil},
		{"connect without its keys", with("POSTFACH_CONNECT_CLIENT_ID", "c"), "POSTFACH_CONNECT_CLIENT_SECRET is not set; POSTFACH_TOKEN_KEYS is not set; POSTFACH_OAUTH_STATE_KEY is not set", nil},
		{"bad certs url", with("POSTFACH_GOOGLE_CERTS_URL", "certs"), "POSTFACH_GOOGLE_CERTS_URL", nil},
		{"short report key", with("POSTFACH_REPORT_KEY", "QUJD"), "POSTFACH_REPORT_KEY: want base64 of at least 32 random bytes", nil},
		// Finding 8: every missing variable, always in the same order.
		{"nothing set", func(string) string { return "" }, "configuration: POSTFACH_BASE_URL is not set; POSTFACH_ADDON_SERVICE_ACCOUNT is not set; " +
			"POSTFACH_OAUTH_CLIENT_ID is not set; POSTFACH_STORE is not set: want firestore or sqlite", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(tc.env)
			if tc.wantErr != "" {
				if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a configuration error naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("config = %+v, %v", c, err)
			}
		})
	}
}

func TestMailboxAccessConfig(t *testing.T) {
	t.Parallel()
	store, err := sqlitedb.Open(t.Context(), t.TempDir()+"/a.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log := slog.New(slog.DiscardHandler)
	key := "k1:" + strings.Repeat("A", 43) + "="
	tests := []struct {
		name    string
		cfg     config
		wantErr string
		connect bool
	}{
		{"nothing configured", config{}, "", false},
		{"connect", config{BaseURL: "https://p.example.com", Access: accessConfig{ConnectClientID: "c", ConnectClientSecret: "s", TokenKeys: key, StateKey: strings.Repeat("B", 44)}}, "", true},
		{"connect without keys", config{Access: accessConfig{ConnectClientID: "c", ConnectClientSecret: "s"}}, "POSTFACH_TOKEN_KEYS", false},
		{"bad token keys", config{Access: accessConfig{ConnectClientID: "c", ConnectClientSecret: "s", TokenKeys: "nonsense", StateKey: strings.Repeat("B", 44)}}, "POSTFACH_TOKEN_KEYS", false},
		{"short state key", config{Access: accessConfig{ConnectClientID: "c", ConnectClientSecret: "s", TokenKeys: key, StateKey: "QUJD"}}, "POSTFACH_OAUTH_STATE_KEY", false},
		{"bad delegation key", config{Access: accessConfig{DelegationKey: "{}"}}, "mailbox access", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := newMailboxAccess(store, tc.cfg, log)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || a.provider == nil || (a.connect != nil) != tc.connect {
				t.Fatalf("access = %+v, %v", a, err)
			}
			if tc.connect && a.connect.RedirectURL != "https://p.example.com/oauth/callback" {
				t.Errorf("redirect URL %q", a.connect.RedirectURL)
			}
		})
	}
}

// The README's configuration table and serve's settings are the same
// list: a variable serve reads is documented, and a documented one is read.
func TestREADMEConfigurationTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Configuration (`postfach serve`)")
	end := strings.Index(readme[start:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README has no configuration section")
	}
	section := readme[start : start+end]
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([A-Z_]+)`").FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}
	read := map[string]bool{}
	for _, s := range settingsServe {
		read[s.Name] = true
		if !documented[s.Name] && s.Name != "FIRESTORE_EMULATOR_HOST" {
			t.Errorf("serve reads %s, the README's table does not list it", s.Name)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("the README documents %s, serve does not read it", name)
		}
	}
}
