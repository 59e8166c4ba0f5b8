package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	h := startHarness(t)
	res, err := load(context.Background(), loadOptions{BaseURL: h.app.BaseURL, User: "bob@example.com", Requests: 40, Concurrency: 4, MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.sent != 40 || res.failed != 0 || len(res.latencies["homepage"]) != 20 || len(res.latencies["message-open"]) != 20 {
		t.Fatalf("load result: sent %d failed %d statuses %v", res.sent, res.failed, res.statuses)
	}
	var out bytes.Buffer
	res.print(&out)
	if !strings.Contains(out.String(), "message-open") || !strings.Contains(out.String(), "p99=") {
		t.Errorf("report: %s", out.String())
	}
	for _, bad := range []loadOptions{
		{BaseURL: "http://10.0.0.1:8080", Requests: 1, Concurrency: 1, MaxDuration: time.Second},
		{BaseURL: "http://example.com", Requests: 1, Concurrency: 1, MaxDuration: time.Second},
		{BaseURL: h.app.BaseURL, Requests: 0, Concurrency: 1, MaxDuration: time.Second},
		{BaseURL: h.app.BaseURL, Requests: 1, Concurrency: 65, MaxDuration: time.Second},
	} {
		if _, err := load(context.Background(), bad); err == nil {
			t.Errorf("load(%+v) accepted", bad)
		}
	}
}
