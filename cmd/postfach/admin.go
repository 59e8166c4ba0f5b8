package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/postfach/postfach/internal/inbox"
)

// runAdmin runs `postfach admin add --domain D --email E`: it bootstraps the
// first admin of a tenant (creating the tenant), after which admins manage
// everything else in the sidebar.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const doc = "Make someone an admin of a tenant (its Google Workspace domain), creating the tenant if needed. " +
		"Admins add the rest in the sidebar's Settings."
	rest, err := subcommand("admin", "add", args, stdout, doc)
	if err != nil {
		return err
	}
	fs := newFlagSet("admin add", "", doc, settingsStore, stdout)
	domain := fs.String("domain", "", "the Google Workspace domain (the tenant)")
	email := fs.String("email", "", "the address of the new admin, in that domain")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if *domain == "" || *email == "" {
		return fmt.Errorf("%w: admin add: --domain and --email are required (see postfach admin add --help)", errUsage)
	}
	store, closeStore, err := openCommandStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	t, err := addAdmin(ctx, store, *domain, *email, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is an admin of %s (admins: %v)\n", inbox.NormalizeEmail(*email), t.Domain, t.Admins)
	return nil
}

// addAdmin makes email an admin of domain, creating the tenant if needed.
func addAdmin(ctx context.Context, store inbox.Store, domain, email string, now time.Time) (inbox.Tenant, error) {
	email = inbox.NormalizeEmail(email)
	if email == "" || inbox.DomainOf(email) != domain {
		return inbox.Tenant{}, fmt.Errorf("admin add: --email must be an address in --domain %q", domain)
	}
	err := store.CreateTenant(ctx, inbox.Tenant{Domain: domain, Admins: []string{email}, CreatedAt: now})
	if err == nil {
		return store.GetTenant(ctx, domain)
	}
	if !errors.Is(err, inbox.ErrAlreadyExists) {
		return inbox.Tenant{}, fmt.Errorf("admin add: %w", err)
	}
	t, err := store.UpdateTenant(ctx, domain, func(t *inbox.Tenant) error {
		if !slices.Contains(t.Admins, email) {
			t.Admins = append(t.Admins, email)
		}
		return nil
	})
	if err != nil {
		return inbox.Tenant{}, fmt.Errorf("admin add: %w", err)
	}
	return t, nil
}
