package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// A short loadtest run end to end: every kind is sent and answered, the
// calibration counts what the baseline and the homepage must never do
// (call Gmail, write), and the JSON output parses.
func TestLoadtest(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"loadtest", "--conversations", "60", "--duration", "1s", "--warmup", "0",
		"--rate", "60", "--calibrate", "3", "--data", t.TempDir(), "--json"}, &stdout, &stderr, func(string) string { return "" })
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, stderr.String())
	}
	var res loadtestResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, stdout.String())
	}
	if res.Errors != 0 || res.Requests == 0 || res.Conversations != 60 {
		t.Errorf("result %+v", res)
	}
	for _, k := range loadKinds {
		ks := res.Kinds[k]
		if ks == nil || ks.Measured != 3 {
			t.Errorf("%s: no calibration (%+v)", k, ks)
		}
	}
	for _, k := range []string{kindBaseline, kindHome, kindList, kindDetail} {
		if ks := res.Kinds[k]; ks != nil && (ks.Gmail != 0 || ks.Writes != 0) {
			t.Errorf("%s: %.2f Gmail calls and %.2f store writes per request, want none", k, ks.Gmail, ks.Writes)
		}
	}
	if ks := res.Kinds[kindBaseline]; ks != nil && ks.Reads != 0 {
		t.Errorf("baseline: %.2f store reads per request, want none", ks.Reads)
	}
	// Demo mail is ingested: its card needs no Gmail call.
	if ks := res.Kinds[kindOpen]; ks == nil || ks.Gmail != 0 {
		t.Errorf("message-open: %+v, want no Gmail calls", ks)
	}
	if ks := res.Kinds[kindAction]; ks != nil && ks.Writes < 1 {
		t.Errorf("action: %.2f store writes per request, want at least one", ks.Writes)
	}
}

func TestLoadtestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--mix", "homepage=1,nonsense=2"},
		{"--mix", "homepage=0"},
		{"--rate", "-1"},
		{"--concurrency", "0"},
		{"--duration", "11m"},
		{"--store", "firestore"}, // without an emulator
	} {
		err := run(t.Context(), append([]string{"loadtest", "--data", t.TempDir()}, args...), io.Discard, io.Discard, func(string) string { return "" })
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("%v: exit %d (%v), want 2", args, code, err)
		}
	}
	if _, err := parseMix("homepage=2, baseline=1"); err != nil {
		t.Errorf("parseMix: %v", err)
	}
}
