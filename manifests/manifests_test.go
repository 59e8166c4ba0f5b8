package manifests

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://postfach.example.com", "https://postfach.example.com", true},
		{"https://postfach.example.com/", "https://postfach.example.com", true},
		{"https://example.com/postfach/", "https://example.com/postfach", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://localhost:9", "http://localhost:9", true},
		{"http://postfach.example.com", "", false},
		{"ftp://postfach.example.com", "", false},
		{"postfach.example.com", "", false},
		{"https://example.com/?a=b", "", false},
		{"https://user@example.com", "", false},
		{"", "", false},
		{"https://exa mple.com", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := CheckBaseURL(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("CheckBaseURL(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

// urls collects every string value of a JSON document that looks like a URL
// or names the base.
func urls(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			urls(e, out)
		}
	case []any:
		for _, e := range x {
			urls(e, out)
		}
	case string:
		if strings.Contains(x, "://") || strings.Contains(x, "BASE_URL") {
			*out = append(*out, x)
		}
	}
}

func TestDeploymentURLsUnderBase(t *testing.T) {
	t.Parallel()
	const base = "https://postfach.example.com/pf"
	b, err := Deployment(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var found []string
	urls(doc, &found)
	endpoints := map[string]bool{}
	for _, u := range found {
		if strings.HasPrefix(u, "https://www.googleapis.com/auth/") {
			continue // OAuth scopes
		}
		if !strings.HasPrefix(u, base+"/") {
			t.Errorf("URL %q is not under the base %s", u, base)
		}
		endpoints[strings.TrimPrefix(u, base)] = true
	}
	for _, p := range []string{PathHomepage, PathMessageOpen, PathLogo} {
		if !endpoints[p] {
			t.Errorf("deployment does not name %s (found %v)", p, endpoints)
		}
	}
}

func TestDeploymentRefusesBadBase(t *testing.T) {
	t.Parallel()
	if _, err := Deployment("http://postfach.example.com"); err == nil {
		t.Error("plain http accepted for a public host")
	}
}
