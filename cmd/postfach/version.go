package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// runVersion runs `postfach version`.
func runVersion(_ context.Context, args []string, stdout, _ io.Writer, _ func(string) string) error {
	fs := newFlagSet("version", "", "Print the module version, the VCS revision it was built from and the Go version.", nil, stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "postfach", versionString())
	return nil
}

// versionString is "<module version> (<revision>[, modified], <go version>)"
// from the build information Go embeds; "(devel)" and "unknown revision"
// when it has none (go run, tests).
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel) (unknown revision)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	rev, modified := "unknown revision", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	parts := []string{rev}
	if modified {
		parts = append(parts, "modified")
	}
	parts = append(parts, info.GoVersion)
	return version + " (" + strings.Join(parts, ", ") + ")"
}
