package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/postfach/postfach/internal/firestoredb"
	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/sqlitedb"
)

// storeConfig picks the store: one setting, POSTFACH_STORE.
type storeConfig struct {
	Kind       string // POSTFACH_STORE: sqlite | firestore
	SQLitePath string // POSTFACH_SQLITE_PATH
	// ProjectID is the Firestore project (POSTFACH_FIRESTORE_PROJECT, else
	// GOOGLE_CLOUD_PROJECT, else detected from the environment as the
	// client does). FIRESTORE_EMULATOR_HOST is honoured by the client.
	ProjectID string
	// Namespace roots every collection under namespaces/{ns} (tests).
	Namespace string
}

func loadStoreConfig(getenv func(string) string) (storeConfig, error) {
	c := storeConfig{
		Kind:       getenv("POSTFACH_STORE"),
		SQLitePath: getenv("POSTFACH_SQLITE_PATH"),
		ProjectID:  getenv("POSTFACH_FIRESTORE_PROJECT"),
	}
	if c.Kind == "" {
		c.Kind = "sqlite"
	}
	if c.SQLitePath == "" {
		c.SQLitePath = filepath.Join(os.TempDir(), "postfach.db")
	}
	if c.ProjectID == "" {
		c.ProjectID = getenv("GOOGLE_CLOUD_PROJECT")
	}
	if c.Kind != "sqlite" && c.Kind != "firestore" {
		return c, fmt.Errorf("%w: POSTFACH_STORE=%q: want sqlite or firestore", errConfig, c.Kind)
	}
	return c, nil
}

// openStore opens the configured store; close releases it.
func openStore(ctx context.Context, c storeConfig) (store inbox.Store, close func() error, err error) {
	switch c.Kind {
	case "firestore":
		var s *firestoredb.Store
		if c.Namespace != "" {
			s, err = firestoredb.OpenNamespace(ctx, c.ProjectID, c.Namespace)
		} else {
			s, err = firestoredb.Open(ctx, c.ProjectID)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("open firestore: %w", err)
		}
		return s, s.Close, nil
	default:
		s, err := sqlitedb.Open(ctx, c.SQLitePath)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
}
