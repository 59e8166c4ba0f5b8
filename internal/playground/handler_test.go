package playground

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := Handler(Options{
		Users:      []User{{Email: "bob@example.com", Name: "Bob </script><script>alert(1)</script>", Tenant: "example.com", TenantName: "Example"}},
		Inboxes:    []Inbox{{Address: "support@example.com", Name: "Support"}},
		Deployment: []byte(`{"addOns":{"common":{"name":"Postfach"}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandlerRoutes(t *testing.T) {
	t.Parallel()
	h := testHandler(t)
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/playground/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/playground/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "/playground/deployment.json", 200, "application/json"},
		{"GET", "/playground/index.html", 404, ""},
		{"GET", "/playground/", 404, ""},
		{"GET", "/playground/nope.js", 404, ""},
		{"GET", "/playground/.hidden.js", 404, ""},
		{"GET", "/nope", 404, ""},
		{"GET", "/index.html", 404, ""},
		{"POST", "/", 405, ""},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.contentType != "" && rec.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.contentType)
			}
			if tc.status == 200 && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("no script CSP: %q", rec.Header().Get("Content-Security-Policy"))
			}
		})
	}
}

// The page carries its configuration as a JSON data block that no user
// name can break out of.
func TestPageConfig(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	testHandler(t).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, _ := io.ReadAll(rec.Body)
	page := string(body)
	if strings.Count(page, "</script>") != strings.Count(page, "<script") {
		t.Fatalf("a user name closed a script element:\n%s", page)
	}
	start := strings.Index(page, `id="pf-config">`) + len(`id="pf-config">`)
	end := strings.Index(page[start:], "</script>")
	var cfg struct {
		Users []User `json:"users"`
	}
	if err := json.Unmarshal([]byte(page[start:start+end]), &cfg); err != nil {
		t.Fatalf("config is not JSON: %v\n%s", err, page[start:start+end])
	}
	if len(cfg.Users) != 1 || cfg.Users[0].Name != "Bob </script><script>alert(1)</script>" {
		t.Errorf("users = %+v", cfg.Users)
	}
}

func TestHandlerRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Options{
		"no users":       {Deployment: []byte(`{}`)},
		"bad deployment": {Users: []User{{Email: "a@b.c"}}, Deployment: []byte(`{`)},
	} {
		if _, err := Handler(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
