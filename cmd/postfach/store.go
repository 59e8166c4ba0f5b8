package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/postfach/postfach/internal/firestoredb"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// storeConfig picks the store. Nothing is guessed: a server whose state
// would land in a temporary file a Cloud Run instance loses must not start.
type storeConfig struct {
	Kind       string // POSTFACH_STORE: sqlite | firestore
	SQLitePath string // POSTFACH_SQLITE_PATH
	// ProjectID is the Firestore project (POSTFACH_FIRESTORE_PROJECT, else
	// GOOGLE_CLOUD_PROJECT, else detected from the environment as the
	// client does). FIRESTORE_EMULATOR_HOST is honoured by the client.
	ProjectID string
	// EmulatorHost is FIRESTORE_EMULATOR_HOST, for the start-up log line.
	EmulatorHost string
	// Namespace roots every collection under namespaces/{ns} (tests).
	Namespace string
}

// loadStoreConfig reads the store settings; POSTFACH_STORE is required, and
// so is POSTFACH_SQLITE_PATH for SQLite.
func loadStoreConfig(getenv func(string) string) (storeConfig, error) {
	c := storeConfig{
		Kind:         getenv("POSTFACH_STORE"),
		SQLitePath:   getenv("POSTFACH_SQLITE_PATH"),
		ProjectID:    getenv("POSTFACH_FIRESTORE_PROJECT"),
		EmulatorHost: getenv("FIRESTORE_EMULATOR_HOST"),
	}
	if c.ProjectID == "" {
		c.ProjectID = getenv("GOOGLE_CLOUD_PROJECT")
	}
	return c, c.validate()
}

// validate says which setting is missing or wrong.
func (c storeConfig) validate() error {
	switch c.Kind {
	case "":
		return fmt.Errorf("%w: POSTFACH_STORE is not set: want firestore or sqlite", errConfig)
	case "sqlite":
		if c.SQLitePath == "" {
			return fmt.Errorf("%w: POSTFACH_SQLITE_PATH is not set: POSTFACH_STORE=sqlite needs the database file", errConfig)
		}
	case "firestore":
	default:
		return fmt.Errorf("%w: POSTFACH_STORE=%q: want firestore or sqlite", errConfig, c.Kind)
	}
	return nil
}

// where says where the store is, for the start-up log and check.
func (c storeConfig) where() string {
	switch c.Kind {
	case "sqlite":
		if abs, err := filepath.Abs(c.SQLitePath); err == nil {
			return abs
		}
		return c.SQLitePath
	case "firestore":
		w := "project " + c.ProjectID
		if c.ProjectID == "" {
			w = "the detected project"
		}
		if c.Namespace != "" {
			w += ", namespace " + c.Namespace
		}
		if c.EmulatorHost != "" {
			w += ", emulator " + c.EmulatorHost
		}
		return w
	}
	return ""
}

// openStore opens the configured store; close releases it.
func openStore(ctx context.Context, c storeConfig) (store inbox.Store, close func() error, err error) {
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	switch c.Kind {
	case "firestore":
		var s *firestoredb.Store
		if c.Namespace != "" {
			s, err = firestoredb.OpenNamespace(ctx, c.ProjectID, c.Namespace)
		} else {
			s, err = firestoredb.Open(ctx, c.ProjectID)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("open firestore (%s): %w", c.where(), err)
		}
		return s, s.Close, nil
	default:
		s, err := sqlitedb.Open(ctx, c.SQLitePath)
		if err != nil {
			return nil, nil, fmt.Errorf("open sqlite %s: %w", c.where(), err)
		}
		return s, s.Close, nil
	}
}

// pingStore reports whether the store answers: a read of a tenant that
// cannot exist.
func pingStore(ctx context.Context, s inbox.Store) error {
	_, err := s.GetTenant(ctx, "readiness-check.invalid")
	if err == nil || errors.Is(err, inbox.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("store unreachable: %w", err)
}

// openCommandStore opens the store the environment names and says which
// on stderr.
func openCommandStore(ctx context.Context, getenv func(string) string, stderr io.Writer) (inbox.Store, func() error, error) {
	cfg, err := loadStoreConfig(getenv)
	if err != nil {
		return nil, nil, err
	}
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "store: %s (%s)\n", cfg.Kind, cfg.where())
	return store, closeStore, nil
}
