package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/postfach/postfach/internal/sqlitedb"
)

func TestLoadServeConfig(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"POSTFACH_BASE_URL":              "https://postfach.example.com",
		"POSTFACH_ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
		"POSTFACH_OAUTH_CLIENT_ID":       "1.apps.googleusercontent.com",
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
		check   func(serveConfig) bool
	}{
		{"defaults", with(), "", func(c serveConfig) bool {
			return c.Addr == ":8080" && c.Store.Kind == "sqlite" && c.PubSubTopic == ""
		}},
		{"cloud run", with("PORT", "9090", "POSTFACH_STORE", "firestore", "GOOGLE_CLOUD_PROJECT", "p"), "", func(c serveConfig) bool {
			return c.Addr == ":9090" && c.Store.Kind == "firestore" && c.Store.ProjectID == "p"
		}},
		{"push sync", with("POSTFACH_PUBSUB_TOPIC", "projects/p/topics/t", "POSTFACH_PUSH_SERVICE_ACCOUNT", "push@p.iam.gserviceaccount.com",
			"POSTFACH_SCHEDULER_SERVICE_ACCOUNT", "sched@p.iam.gserviceaccount.com", "POSTFACH_RESYNC_WINDOW", "48h"), "", func(c serveConfig) bool {
			return c.PushAudience == "https://postfach.example.com/gmail/push" && c.ResyncWindow == 48*time.Hour
		}},
		{"missing base url", with("POSTFACH_BASE_URL", ""), "POSTFACH_BASE_URL", nil},
		{"plain http base url", with("POSTFACH_BASE_URL", "http://postfach.example.com"), "https", nil},
		{"bad topic", with("POSTFACH_PUBSUB_TOPIC", "gmail"), "projects/PROJECT/topics/TOPIC", nil},
		{"push without accounts", with("POSTFACH_PUBSUB_TOPIC", "projects/p/topics/t"), "POSTFACH_PUSH_SERVICE_ACCOUNT", nil},
		{"bad store", with("POSTFACH_STORE", "postgres"), "sqlite or firestore", nil},
		{"bad resync window", with("POSTFACH_RESYNC_WINDOW", "a week"), "POSTFACH_RESYNC_WINDOW", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadServeConfig(tc.env)
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
		cfg     serveConfig
		wantErr string
		connect bool
	}{
		{"nothing configured", serveConfig{}, "", false},
		{"connect", serveConfig{BaseURL: "https://p.example.com", ConnectClientID: "c", ConnectClientSecret: "s", TokenKeys: key, StateKey: strings.Repeat("B", 44)}, "", true},
		{"connect without keys", serveConfig{ConnectClientID: "c", ConnectClientSecret: "s"}, "POSTFACH_TOKEN_KEYS", false},
		{"bad token keys", serveConfig{ConnectClientID: "c", ConnectClientSecret: "s", TokenKeys: "nonsense", StateKey: strings.Repeat("B", 44)}, "POSTFACH_TOKEN_KEYS", false},
		{"short state key", serveConfig{ConnectClientID: "c", ConnectClientSecret: "s", TokenKeys: key, StateKey: "QUJD"}, "POSTFACH_OAUTH_STATE_KEY", false},
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
