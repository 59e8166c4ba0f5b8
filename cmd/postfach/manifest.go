package main

import (
	"context"
	"fmt"
	"io"

	"github.com/postfach/postfach/manifests"
)

// runManifest prints manifests/deployment.json rendered for --base-url.
func runManifest(_ context.Context, args []string, stdout, _ io.Writer, _ func(string) string) error {
	fs := newFlagSet("manifest", "", "Print the Google Workspace add-on deployment (manifests/deployment.json) for a base URL.", nil, stdout)
	base := fs.String("base-url", "", "public base URL of the Postfach service, e.g. https://postfach-abc-ew.a.run.app")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *base == "" {
		return fmt.Errorf("%w: manifest: --base-url is required", errUsage)
	}
	b, err := manifests.Deployment(*base)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	_, err = stdout.Write(b)
	return err
}
