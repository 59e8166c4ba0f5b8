package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/postfach/postfach/manifests"
)

// runManifest prints manifests/deployment.json rendered for --base-url.
func runManifest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base-url", "", "public base URL of the Postfach service, e.g. https://postfach-abc-ew.a.run.app")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" {
		fs.Usage()
		return fmt.Errorf("manifest: --base-url is required")
	}
	b, err := manifests.Deployment(*base)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	_, err = stdout.Write(b)
	return err
}
