// Package cloudlog builds the process's slog.Logger: JSON lines in the shape
// Cloud Logging reads from a Cloud Run container's stdout (`severity`,
// `message`, `time`), so that levels and messages show up as such in the
// Logs Explorer.
package cloudlog

import (
	"io"
	"log/slog"
)

// New returns a JSON logger writing to w at level and above.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		AddSource:   false,
		ReplaceAttr: replace,
	}))
}

// replace renames slog's keys to Cloud Logging's: level→severity (with its
// level names), msg→message.
func replace(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.MessageKey:
		a.Key = "message"
	case slog.LevelKey:
		a.Key = "severity"
		if lvl, ok := a.Value.Any().(slog.Level); ok {
			a.Value = slog.StringValue(severity(lvl))
		}
	}
	return a
}

// severity maps a slog level to a Cloud Logging LogSeverity name.
func severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	default:
		return "ERROR"
	}
}
