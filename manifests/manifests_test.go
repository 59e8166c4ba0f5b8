package manifests

import (
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

func TestDeploymentRefusesBadBase(t *testing.T) {
	t.Parallel()
	if _, err := Deployment("http://postfach.example.com"); err == nil {
		t.Error("plain http accepted for a public host")
	}
}
