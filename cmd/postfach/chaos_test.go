package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestChaosCommandLine: postfach chaos refuses what it cannot run, before
// starting anything: it needs the Pub/Sub emulator, runs Firestore on the
// emulator only, and stays on loopback.
func TestChaosCommandLine(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	pubsub := env("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"no pubsub emulator", nil, env(), "PUBSUB_EMULATOR_HOST"},
		{"firestore without its emulator", []string{"--store", "firestore"}, pubsub, "FIRESTORE_EMULATOR_HOST"},
		{"remote emulator", nil, env("PUBSUB_EMULATOR_HOST", "pubsub.example.com:8085"), "loopback"},
		{"unknown store", []string{"--store", "postgres"}, pubsub, "--store"},
		{"too many deliveries", []string{"--deliveries", "1000000"}, pubsub, "--deliveries"},
		{"all pushes dropped", []string{"--drop", "1"}, pubsub, "--drop"},
		{"short lease", []string{"--lease-ttl", "1s"}, pubsub, "--lease-ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), append([]string{"chaos"}, tc.args...), io.Discard, io.Discard, tc.env)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a usage error naming %q", err, tc.want)
			}
		})
	}
}
