package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	gsuiteaddons "cloud.google.com/go/gsuiteaddons/apiv1"
	"cloud.google.com/go/gsuiteaddons/apiv1/gsuiteaddonspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/postfach/postfach/manifests"
)

// deployTimeout bounds one `postfach deploy` run (a handful of API calls).
const deployTimeout = 2 * time.Minute

// deployConfig is what `postfach deploy` is told.
type deployConfig struct {
	Project      string // project id or number that owns the deployment
	DeploymentID string
	BaseURL      string
	Install      bool
	Endpoint     string // gsuiteaddons API endpoint override (host:port)
	Insecure     bool   // plaintext gRPC without credentials to Endpoint (tests)
}

func (c deployConfig) validate() error {
	switch {
	case c.Project == "":
		return errors.New("--project is required (or set GOOGLE_CLOUD_PROJECT)")
	case strings.ContainsAny(c.Project, "/ "):
		return fmt.Errorf("--project=%q: want a project id or number", c.Project)
	case c.DeploymentID == "":
		return errors.New("--deployment-id must not be empty")
	case len(c.DeploymentID) > 100 || strings.ContainsAny(c.DeploymentID, "/ \t\n"):
		return fmt.Errorf("--deployment-id=%q: at most 100 characters, no slash or space", c.DeploymentID)
	case c.BaseURL == "":
		return errors.New("--base-url is required (or set POSTFACH_BASE_URL)")
	case c.Insecure && c.Endpoint == "":
		return errors.New("--insecure needs --endpoint: it only talks to a local test server")
	}
	return nil
}

// runDeploy runs `postfach deploy`: it renders manifests/deployment.json for
// --base-url, creates the Google Workspace add-on deployment or replaces it
// (GetDeployment, then CreateDeployment or ReplaceDeployment with the etag
// it read), with --install installs it for the calling user in developer
// mode, and prints the project's add-on authorization: the service account
// that signs the systemIdTokens and the OAuth client id that is the audience
// of the users' ID tokens, as the env vars `postfach serve` reads.
//
// Credentials are Application Default Credentials; the caller needs
// roles/gsuiteaddons.developer on the project.
func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("deploy", "", "Create the Google Workspace add-on deployment or replace it with manifests/deployment.json for --base-url "+
		"(--install: also install it for you, in developer mode), and print the authorization values serve needs. "+
		"Credentials: Application Default Credentials with roles/gsuiteaddons.developer.",
		[]setting{{"GOOGLE_CLOUD_PROJECT", "default of --project", false}, {"POSTFACH_BASE_URL", "default of --base-url", false}}, stdout)
	var c deployConfig
	fs.StringVar(&c.Project, "project", getenv("GOOGLE_CLOUD_PROJECT"), "Google Cloud project (id or number) that owns the add-on deployment (default $GOOGLE_CLOUD_PROJECT)")
	fs.StringVar(&c.DeploymentID, "deployment-id", "postfach", "id of the add-on deployment")
	fs.StringVar(&c.BaseURL, "base-url", getenv("POSTFACH_BASE_URL"), "public base URL of the Postfach service (default $POSTFACH_BASE_URL)")
	fs.BoolVar(&c.Install, "install", false, "also install the deployment for the calling user (developer mode, for testing)")
	fs.StringVar(&c.Endpoint, "endpoint", "", "host:port of the Google Workspace add-ons API (default: Google's)")
	fs.BoolVar(&c.Insecure, "insecure", false, "plaintext gRPC without credentials to --endpoint (local test servers only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: deploy: %w", errUsage, err)
	}
	body, err := manifests.Deployment(c.BaseURL)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	dep := new(gsuiteaddonspb.Deployment)
	if err := (protojson.UnmarshalOptions{}).Unmarshal(body, dep); err != nil {
		return fmt.Errorf("deploy: manifests/deployment.json is not a gsuiteaddons Deployment: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, deployTimeout)
	defer cancel()
	client, err := newAddOnsClient(ctx, c)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	defer client.Close()
	return deployAddOn(ctx, client, c, dep, stdout)
}

// newAddOnsClient dials the Google Workspace add-ons API: Google's endpoint
// with Application Default Credentials, or with --insecure a local server.
func newAddOnsClient(ctx context.Context, c deployConfig) (*gsuiteaddons.Client, error) {
	if c.Insecure {
		conn, err := grpc.NewClient(c.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", c.Endpoint, err)
		}
		client, err := gsuiteaddons.NewClient(ctx, option.WithGRPCConn(conn))
		if err != nil {
			conn.Close()
			return nil, err
		}
		return client, nil // client.Close closes conn
	}
	var opts []option.ClientOption
	if c.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(c.Endpoint))
	}
	client, err := gsuiteaddons.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gsuiteaddons client (Application Default Credentials: run `gcloud auth application-default login`, or run on Google Cloud): %w", err)
	}
	return client, nil
}

// deployAddOn creates or replaces the deployment, installs it if asked and
// prints the authorization.
func deployAddOn(ctx context.Context, client *gsuiteaddons.Client, c deployConfig, dep *gsuiteaddonspb.Deployment, stdout io.Writer) error {
	parent := "projects/" + c.Project
	name := parent + "/deployments/" + c.DeploymentID

	cur, err := client.GetDeployment(ctx, &gsuiteaddonspb.GetDeploymentRequest{Name: name})
	var done *gsuiteaddonspb.Deployment
	var verb string
	switch {
	case status.Code(err) == codes.NotFound:
		dep.Name, dep.Etag = "", "" // "deployment.name cannot be set" on create
		done, err = client.CreateDeployment(ctx, &gsuiteaddonspb.CreateDeploymentRequest{
			Parent: parent, DeploymentId: c.DeploymentID, Deployment: dep,
		})
		if err != nil {
			return apiError("create deployment", name, err)
		}
		verb = "created"
	case err != nil:
		return apiError("get deployment", name, err)
	default:
		// Replace the resource that exists, under its canonical name, and
		// only if nobody changed it since we read it.
		dep.Name, dep.Etag = cur.GetName(), cur.GetEtag()
		if dep.Name == "" {
			dep.Name = name
		}
		done, err = client.ReplaceDeployment(ctx, &gsuiteaddonspb.ReplaceDeploymentRequest{Deployment: dep})
		if err != nil {
			return apiError("replace deployment", name, err)
		}
		verb = "replaced"
	}
	if done.GetName() != "" {
		name = done.GetName()
	}
	fmt.Fprintf(stdout, "%s deployment %s for %s\n", verb, name, strings.TrimSuffix(c.BaseURL, "/"))

	if c.Install {
		if err := client.InstallDeployment(ctx, &gsuiteaddonspb.InstallDeploymentRequest{Name: name}); err != nil {
			return apiError("install deployment", name, err)
		}
		fmt.Fprintf(stdout, "installed deployment %s for the calling user (developer mode): open Gmail on the web\n", name)
	}

	auth, err := client.GetAuthorization(ctx, &gsuiteaddonspb.GetAuthorizationRequest{Name: parent + "/authorization"})
	if err != nil {
		return apiError("get authorization", parent, err)
	}
	fmt.Fprintf(stdout, "# request verification settings of `postfach serve`:\nPOSTFACH_ADDON_SERVICE_ACCOUNT=%s\nPOSTFACH_OAUTH_CLIENT_ID=%s\n",
		auth.GetServiceAccountEmail(), auth.GetOauthClientId())
	return nil
}

// apiError wraps an API error with the operation, the resource and, where
// the status code has a usual cause, what to do about it.
func apiError(op, resource string, err error) error {
	hint := ""
	switch status.Code(err) {
	case codes.PermissionDenied:
		hint = " (the caller needs roles/gsuiteaddons.developer on the project, and gsuiteaddons.googleapis.com must be enabled)"
	case codes.Unauthenticated:
		hint = " (no valid credentials: run `gcloud auth application-default login`)"
	case codes.Aborted, codes.FailedPrecondition:
		hint = " (the deployment changed while deploying: run deploy again)"
	}
	return fmt.Errorf("deploy: %s %s: %w%s", op, resource, err, hint)
}
