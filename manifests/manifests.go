// Package manifests holds the deployment files of Postfach and renders them
// for a base URL. deployment.json is the Google Workspace add-on deployment
// (the body of `gcloud workspace-add-ons deployments create|replace`, and
// what `postfach deploy` sends); every endpoint URL in it is written as
// ${BASE_URL}/…, so this file is the one source of the add-on's endpoint
// paths.
//
// Beside it: firestore.indexes.json (the Firestore composite indexes),
// scheduler.json (the Cloud Scheduler jobs, in the API's Job shape),
// Dockerfile (the image ../cloudbuild.yaml builds) and the README (how to set
// up a Google Cloud project). The tests parse each strictly into Google's
// own types (gsuiteaddonspb.Deployment, schedulerpb.Job, cloudbuildpb.Build)
// and check them against the server's paths.
package manifests

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

//go:embed deployment.json
var deploymentTemplate string

// Endpoint paths the deployment names; the HTTP server serves each of them.
const (
	PathHomepage    = "/addon/homepage"
	PathMessageOpen = "/addon/message-open"
	PathAction      = "/addon/action"
	// PathCompose is the runFunction of the compose trigger
	// (addOns.gmail.composeTrigger, draftAccess METADATA): the card that
	// inserts an inbox's template into the draft.
	PathCompose = "/addon/compose"
	// PathSettings is the runFunction of the "Settings" universal action
	// (addOns.common.universalActions): the tenant admin's setup screens.
	PathSettings = "/addon/settings"
	PathLogo     = "/static/logo-96.png"
	// PathOAuthPrefix is the one prefix of the service that cards may open
	// with an OpenLink (addOns.common.openLinkUrlPrefixes): the "Connect
	// mailbox" consent flow lives below it. Besides it, only Gmail itself
	// (https://mail.google.com/) is allowed.
	PathOAuthPrefix = "/oauth/"
)

// Deployment renders deployment.json for baseURL, an absolute https URL (or
// http on a loopback host, for local development) without a trailing slash.
func Deployment(baseURL string) ([]byte, error) {
	base, err := CheckBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	out := strings.ReplaceAll(deploymentTemplate, "${BASE_URL}", base)
	if !json.Valid([]byte(out)) {
		return nil, fmt.Errorf("deployment.json: rendered manifest is not JSON")
	}
	return []byte(out), nil
}

// CheckBaseURL validates a public base URL and returns it without a trailing
// slash.
func CheckBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("base url %q: %w", raw, err)
	}
	loopback := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	switch {
	case u.Host == "":
		return "", fmt.Errorf("base url %q: want an absolute URL such as https://postfach.example.com", raw)
	case u.Scheme != "https" && !(u.Scheme == "http" && loopback):
		return "", fmt.Errorf("base url %q: Google calls add-on endpoints over https only", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("base url %q: no query, fragment or user info allowed", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
