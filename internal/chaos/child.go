package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// child is the `postfach serve` process under test: started, killed with
// SIGKILL (no shutdown, no flush: a crash), and started again on the same
// address and store.
type child struct {
	command func() *exec.Cmd // a fresh `postfach serve` with the run's environment
	base    string
	out     io.Writer
	cmd     *exec.Cmd
	exited  chan struct{}
	starts  int
}

// start starts the process and waits until /readyz answers 200.
func (c *child) start(ctx context.Context) error {
	cmd := c.command()
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postfach serve: %w", err)
	}
	c.cmd, c.exited, c.starts = cmd, make(chan struct{}), c.starts+1
	exited := c.exited
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			return errors.New("postfach serve exited during start-up (see its log)")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if ready(ctx, c.base) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("postfach serve not ready within 60s")
		}
	}
}

func ready(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill crashes the process: SIGKILL, nothing it has in flight finishes.
func (c *child) kill() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
}

// stop shuts the process down as Cloud Run would: SIGTERM, then SIGKILL
// after 10 s.
func (c *child) stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exited
	}
	c.cmd = nil
}
