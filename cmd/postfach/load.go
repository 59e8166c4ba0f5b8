package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/httpapi"
)

// loadOptions configures `postfach load`.
type loadOptions struct {
	BaseURL     string
	User        string
	Requests    int
	Concurrency int
	MaxDuration time.Duration
}

// runLoad runs `postfach load`: it plays Google against a running
// `postfach dev` on this machine (tokens from its /dev/tokens), sending
// homepage and message-open requests for one user, and reports throughput
// and latency percentiles. Bounded in count and time; loopback only.
func runLoad(ctx context.Context, args []string, stdout, _ io.Writer, _ func(string) string) error {
	fs := newFlagSet("load", "", "Play Google against a running `postfach dev` on this machine: homepage and message-open requests "+
		"for one demo user, bounded in count and time; prints throughput and latency percentiles.", nil, stdout)
	c := loadOptions{}
	fs.StringVar(&c.BaseURL, "base-url", "http://127.0.0.1:8080", "a running postfach dev (loopback only)")
	fs.StringVar(&c.User, "user", "bob@example.com", "the demo user to act as")
	fs.IntVar(&c.Requests, "requests", 2000, "requests to send in all (at most 100000)")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "requests in flight (1-64)")
	fs.DurationVar(&c.MaxDuration, "max-duration", 60*time.Second, "stop after this long whatever is left")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := load(ctx, c)
	if err != nil {
		return err
	}
	res.print(stdout)
	if res.failed > 0 {
		return fmt.Errorf("%d of %d requests failed", res.failed, res.sent)
	}
	return nil
}

// loadResult is what a load run measured.
type loadResult struct {
	sent, failed int
	elapsed      time.Duration
	latencies    map[string][]time.Duration // by endpoint
	statuses     map[int]int
}

func (r loadResult) print(w io.Writer) {
	fmt.Fprintf(w, "%d requests in %v: %.0f req/s, %d failed, statuses %v\n",
		r.sent, r.elapsed.Round(time.Millisecond), float64(r.sent)/r.elapsed.Seconds(), r.failed, r.statuses)
	names := make([]string, 0, len(r.latencies))
	for n := range r.latencies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ls := slices.Clone(r.latencies[n])
		slices.Sort(ls)
		q := func(p float64) time.Duration {
			return ls[min(len(ls)-1, int(p*float64(len(ls))))].Round(10 * time.Microsecond)
		}
		fmt.Fprintf(w, "  %-20s n=%-6d p50=%-9v p95=%-9v p99=%-9v max=%v\n", n, len(ls), q(0.50), q(0.95), q(0.99), ls[len(ls)-1].Round(10*time.Microsecond))
	}
}

func load(ctx context.Context, c loadOptions) (loadResult, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" {
		return loadResult{}, fmt.Errorf("load: --base-url %q", c.BaseURL)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return loadResult{}, fmt.Errorf("load: %s is not on this machine: load runs against loopback only", c.BaseURL)
	}
	if c.Requests < 1 || c.Requests > 100000 || c.Concurrency < 1 || c.Concurrency > 64 {
		return loadResult{}, errors.New("load: --requests must be 1-100000 and --concurrency 1-64")
	}
	ctx, cancel := context.WithTimeout(ctx, c.MaxDuration)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c.Concurrency}}
	home, err := loadTokens(ctx, client, c.BaseURL, c.User, "/addon/homepage")
	if err != nil {
		return loadResult{}, err
	}
	open, err := loadTokens(ctx, client, c.BaseURL, c.User, "/addon/message-open")
	if err != nil {
		return loadResult{}, err
	}
	ids, err := loadMessages(ctx, client, c.BaseURL, home.UserOAuthToken)
	if err != nil {
		return loadResult{}, err
	}
	type request struct {
		name, url string
		body      []byte
		token     string
	}
	var reqs []request
	homeTok := addontest.Tokens{System: home.SystemIDToken, User: home.UserIDToken, OAuth: home.UserOAuthToken}
	homeBody, _ := addontest.HomepageEvent(homeTok).JSON()
	reqs = append(reqs, request{"homepage", c.BaseURL + "/addon/homepage", homeBody, home.SystemIDToken})
	openTok := addontest.Tokens{System: open.SystemIDToken, User: open.UserIDToken, OAuth: open.UserOAuthToken}
	for _, m := range ids {
		b, _ := addontest.MessageEvent(openTok, m[0], m[1], "").JSON()
		reqs = append(reqs, request{"message-open", c.BaseURL + "/addon/message-open", b, open.SystemIDToken})
	}

	res := loadResult{latencies: map[string][]time.Duration{}, statuses: map[int]int{}}
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range c.Concurrency {
		wg.Go(func() {
			for i := range work {
				// Alternate the homepage with the messages, round robin.
				r := reqs[0]
				if i%2 == 1 && len(reqs) > 1 {
					r = reqs[1+(i/2)%(len(reqs)-1)]
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
				req.Header.Set("Authorization", "Bearer "+r.token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				res.sent++
				res.statuses[status]++
				if status != http.StatusOK {
					res.failed++
				}
				res.latencies[r.name] = append(res.latencies[r.name], d)
				mu.Unlock()
			}
		})
	}
send:
	for i := range c.Requests {
		select {
		case work <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(work)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, nil
}

// loadTokens fetches the tokens of one endpoint from /dev/tokens.
func loadTokens(ctx context.Context, client *http.Client, base, user, path string) (httpapi.DevTokens, error) {
	q := url.Values{"email": {user}, "url": {base + path}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/dev/tokens?"+q.Encode(), nil)
	resp, err := client.Do(req)
	if err != nil {
		return httpapi.DevTokens{}, fmt.Errorf("load: /dev/tokens: %w (is postfach dev running?)", err)
	}
	defer resp.Body.Close()
	var t httpapi.DevTokens
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&t) != nil {
		return httpapi.DevTokens{}, fmt.Errorf("load: /dev/tokens: %s", resp.Status)
	}
	return t, nil
}

// loadMessages lists the user's message and thread ids through the Gmail
// simulator.
func loadMessages(ctx context.Context, client *http.Client, base, token string) ([][2]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/gmail/v1/users/me/messages?maxResults=100", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("load: list messages: %w", err)
	}
	defer resp.Body.Close()
	var list struct {
		Messages []struct {
			ID       string `json:"id"`
			ThreadID string `json:"threadId"`
		} `json:"messages"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
		return nil, fmt.Errorf("load: list messages: %s", resp.Status)
	}
	ids := make([][2]string, len(list.Messages))
	for i, m := range list.Messages {
		ids[i] = [2]string{m.ID, m.ThreadID}
	}
	return ids, nil
}
