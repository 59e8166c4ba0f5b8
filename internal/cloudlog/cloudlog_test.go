package cloudlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		log   func(*slog.Logger)
		want  string
		level string
	}{
		{"debug", func(l *slog.Logger) { l.Debug("d") }, "d", "DEBUG"},
		{"info", func(l *slog.Logger) { l.Info("i", "k", "v") }, "i", "INFO"},
		{"warn", func(l *slog.Logger) { l.Warn("w") }, "w", "WARNING"},
		{"error", func(l *slog.Logger) { l.Error("e") }, "e", "ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tc.log(New(&buf, slog.LevelDebug))
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("not JSON: %v: %s", err, buf.String())
			}
			if got["message"] != tc.want || got["severity"] != tc.level {
				t.Errorf("got message=%v severity=%v, want %q %q", got["message"], got["severity"], tc.want, tc.level)
			}
			if _, ok := got["msg"]; ok {
				t.Errorf("slog's msg key leaked: %s", buf.String())
			}
		})
	}
}

func TestGroupsKeepTheirKeys(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo).WithGroup("req").Info("x", "msg", "inner", "level", "inner")
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	req, _ := got["req"].(map[string]any)
	if req["msg"] != "inner" || req["level"] != "inner" {
		t.Errorf("grouped attrs renamed: %s", buf.String())
	}
}
