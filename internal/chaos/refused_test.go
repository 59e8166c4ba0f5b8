package chaos

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/i18n"
)

// TestRefused: the chaos run's own error once was to count a note answered
// with HTTP 200 "Not saved: too many changes at once" as kept, and then
// report it missing. Every answer that says nothing was saved is a
// refusal; a plain notice is not.
func TestRefused(t *testing.T) {
	t.Parallel()
	p := i18n.NewPrinter(i18n.Match("en-US"), time.UTC)
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"note added", p.T("notice.note_added"), false},
		{"conversation changed", p.T("notice.not_saved_changed"), true},
		{"store gave up", p.T("error.not_saved_detail"), true},
		{"too fast", p.T("ratelimit.title"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := json.Marshal(addon.Notify(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if got := refused(body); got != tt.want {
				t.Errorf("refused(%s) = %v, want %v", body, got, tt.want)
			}
		})
	}
}
