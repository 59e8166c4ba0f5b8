package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/gsuiteaddons/apiv1/gsuiteaddonspb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/emptypb"
	"gopkg.in/yaml.v3"

	"github.com/postfach/postfach/manifests"
)

const (
	fakeAddOnSA       = "service-123456789@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	fakeOAuthClientID = "123456789-abc.apps.googleusercontent.com"
)

// fakeAddOns is an in-memory Google Workspace add-ons API: it keeps
// deployments, their etags and installs, and checks requests the way the
// API documents them (deployment.name must not be set on create and must be
// set on replace; a replace with a stale etag is refused).
type fakeAddOns struct {
	gsuiteaddonspb.UnimplementedGSuiteAddOnsServer

	mu          sync.Mutex
	deployments map[string]*gsuiteaddonspb.Deployment
	installed   map[string]bool
	etags       int
	calls       []string
	fail        error // if set, every call returns it
}

var deploymentName = regexp.MustCompile(`^projects/[^/]+/deployments/[^/]+$`)

func (f *fakeAddOns) begin(method string) error {
	f.mu.Lock()
	f.calls = append(f.calls, method)
	return f.fail
}

func (f *fakeAddOns) GetAuthorization(_ context.Context, r *gsuiteaddonspb.GetAuthorizationRequest) (*gsuiteaddonspb.Authorization, error) {
	defer f.mu.Unlock()
	if err := f.begin("GetAuthorization"); err != nil {
		return nil, err
	}
	if !regexp.MustCompile(`^projects/[^/]+/authorization$`).MatchString(r.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "name %q", r.GetName())
	}
	return &gsuiteaddonspb.Authorization{Name: r.GetName(), ServiceAccountEmail: fakeAddOnSA, OauthClientId: fakeOAuthClientID}, nil
}

func (f *fakeAddOns) GetDeployment(_ context.Context, r *gsuiteaddonspb.GetDeploymentRequest) (*gsuiteaddonspb.Deployment, error) {
	defer f.mu.Unlock()
	if err := f.begin("GetDeployment"); err != nil {
		return nil, err
	}
	d, ok := f.deployments[r.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "deployment %s not found", r.GetName())
	}
	return proto.Clone(d).(*gsuiteaddonspb.Deployment), nil
}

func (f *fakeAddOns) CreateDeployment(_ context.Context, r *gsuiteaddonspb.CreateDeploymentRequest) (*gsuiteaddonspb.Deployment, error) {
	defer f.mu.Unlock()
	if err := f.begin("CreateDeployment"); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r.GetParent(), "projects/") || r.GetDeploymentId() == "" || r.GetDeployment() == nil {
		return nil, status.Error(codes.InvalidArgument, "parent, deployment_id and deployment are required")
	}
	if r.GetDeployment().GetName() != "" {
		return nil, status.Error(codes.InvalidArgument, "deployment.name cannot be set")
	}
	name := r.GetParent() + "/deployments/" + r.GetDeploymentId()
	if _, ok := f.deployments[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "deployment %s exists", name)
	}
	return f.store(name, r.GetDeployment()), nil
}

func (f *fakeAddOns) ReplaceDeployment(_ context.Context, r *gsuiteaddonspb.ReplaceDeploymentRequest) (*gsuiteaddonspb.Deployment, error) {
	defer f.mu.Unlock()
	if err := f.begin("ReplaceDeployment"); err != nil {
		return nil, err
	}
	name := r.GetDeployment().GetName()
	if !deploymentName.MatchString(name) {
		return nil, status.Errorf(codes.InvalidArgument, "deployment.name %q", name)
	}
	if cur, ok := f.deployments[name]; ok && r.GetDeployment().GetEtag() != "" && r.GetDeployment().GetEtag() != cur.GetEtag() {
		return nil, status.Errorf(codes.Aborted, "etag %q is stale", r.GetDeployment().GetEtag())
	}
	return f.store(name, r.GetDeployment()), nil
}

func (f *fakeAddOns) InstallDeployment(_ context.Context, r *gsuiteaddonspb.InstallDeploymentRequest) (*emptypb.Empty, error) {
	defer f.mu.Unlock()
	if err := f.begin("InstallDeployment"); err != nil {
		return nil, err
	}
	if _, ok := f.deployments[r.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "deployment %s not found", r.GetName())
	}
	f.installed[r.GetName()] = true
	return &emptypb.Empty{}, nil
}

// store keeps a copy of d under name with a fresh etag; f.mu is held.
func (f *fakeAddOns) store(name string, d *gsuiteaddonspb.Deployment) *gsuiteaddonspb.Deployment {
	d = proto.Clone(d).(*gsuiteaddonspb.Deployment)
	f.etags++
	d.Name, d.Etag = name, fmt.Sprintf("W/%d", f.etags)
	f.deployments[name] = d
	return proto.Clone(d).(*gsuiteaddonspb.Deployment)
}

func (f *fakeAddOns) stored(name string) *gsuiteaddonspb.Deployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.deployments[name]; ok {
		return proto.Clone(d).(*gsuiteaddonspb.Deployment)
	}
	return nil
}

// takeCalls returns the methods called since the last takeCalls.
func (f *fakeAddOns) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// startFakeAddOns serves a fakeAddOns over gRPC on a loopback port and
// returns it with the flags that point `postfach deploy` at it.
func startFakeAddOns(t *testing.T) (*fakeAddOns, []string) {
	t.Helper()
	f := &fakeAddOns{deployments: map[string]*gsuiteaddonspb.Deployment{}, installed: map[string]bool{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	gsuiteaddonspb.RegisterGSuiteAddOnsServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return f, []string{"--endpoint=" + l.Addr().String(), "--insecure"}
}

// wantDeployment is manifests/deployment.json for base, as a Deployment.
func wantDeployment(t *testing.T, base string) *gsuiteaddonspb.Deployment {
	t.Helper()
	b, err := manifests.Deployment(base)
	if err != nil {
		t.Fatal(err)
	}
	d := new(gsuiteaddonspb.Deployment)
	if err := protojson.Unmarshal(b, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func noEnv(string) string { return "" }

// deploy runs `postfach deploy args…` through the command dispatcher.
func deploy(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"deploy"}, args...), &stdout, &stderr, getenv)
	return stdout.String(), err
}

// checkStored compares the stored deployment with the manifest for base.
func checkStored(t *testing.T, f *fakeAddOns, name, base string) {
	t.Helper()
	got := f.stored(name)
	if got == nil {
		t.Fatalf("no deployment %s stored", name)
	}
	got.Name, got.Etag = "", ""
	if diff := cmp.Diff(wantDeployment(t, base), got, protocmp.Transform()); diff != "" {
		t.Errorf("stored deployment differs from the manifest for %s (-want +got):\n%s", base, diff)
	}
}

func TestDeployCreatesReplacesInstalls(t *testing.T) {
	t.Parallel()
	f, endpoint := startFakeAddOns(t)
	const name = "projects/acme-postfach/deployments/postfach"
	authLines := "POSTFACH_ADDON_SERVICE_ACCOUNT=" + fakeAddOnSA + "\nPOSTFACH_OAUTH_CLIENT_ID=" + fakeOAuthClientID + "\n"

	// First run: the deployment does not exist, so it is created.
	out, err := deploy(t, noEnv, append(endpoint, "--project=acme-postfach", "--base-url=https://postfach.example.com/")...)
	if err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	if got, want := f.takeCalls(), []string{"GetDeployment", "CreateDeployment", "GetAuthorization"}; !slices.Equal(got, want) {
		t.Errorf("first deploy called %v, want %v", got, want)
	}
	if !strings.HasPrefix(out, "created deployment "+name+" for https://postfach.example.com\n") || !strings.HasSuffix(out, authLines) {
		t.Errorf("first deploy printed:\n%s", out)
	}
	checkStored(t, f, name, "https://postfach.example.com")
	etag := f.stored(name).GetEtag()

	// Second run, with another base URL: the deployment is replaced, with
	// the etag that was read, and the stored one is the new manifest.
	out, err = deploy(t, noEnv, append(endpoint, "--project=acme-postfach", "--base-url=https://inbox.example.org")...)
	if err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	if got, want := f.takeCalls(), []string{"GetDeployment", "ReplaceDeployment", "GetAuthorization"}; !slices.Equal(got, want) {
		t.Errorf("second deploy called %v, want %v", got, want)
	}
	if !strings.HasPrefix(out, "replaced deployment "+name+" for https://inbox.example.org\n") || !strings.HasSuffix(out, authLines) {
		t.Errorf("second deploy printed:\n%s", out)
	}
	checkStored(t, f, name, "https://inbox.example.org")
	if f.stored(name).GetEtag() == etag {
		t.Error("replace kept the old etag")
	}
	f.mu.Lock()
	installed := f.installed[name]
	f.mu.Unlock()
	if installed {
		t.Error("installed without --install")
	}

	// Third run with --install, project and base URL from the environment.
	env := func(k string) string {
		return map[string]string{"GOOGLE_CLOUD_PROJECT": "acme-postfach", "POSTFACH_BASE_URL": "https://inbox.example.org"}[k]
	}
	out, err = deploy(t, env, append(endpoint, "--install")...)
	if err != nil {
		t.Fatalf("deploy --install: %v", err)
	}
	if got, want := f.takeCalls(), []string{"GetDeployment", "ReplaceDeployment", "InstallDeployment", "GetAuthorization"}; !slices.Equal(got, want) {
		t.Errorf("deploy --install called %v, want %v", got, want)
	}
	if !strings.Contains(out, "installed deployment "+name+" for the calling user") {
		t.Errorf("deploy --install printed:\n%s", out)
	}
	f.mu.Lock()
	installed = f.installed[name]
	f.mu.Unlock()
	if !installed {
		t.Error("--install did not install the deployment")
	}
}

func TestDeployOtherDeploymentID(t *testing.T) {
	t.Parallel()
	f, endpoint := startFakeAddOns(t)
	if _, err := deploy(t, noEnv, append(endpoint, "--project=p", "--deployment-id=postfach-staging", "--base-url=https://staging.example.com")...); err != nil {
		t.Fatal(err)
	}
	checkStored(t, f, "projects/p/deployments/postfach-staging", "https://staging.example.com")
	if f.stored("projects/p/deployments/postfach") != nil {
		t.Error("the default deployment id was used")
	}
}

func TestDeployBadFlags(t *testing.T) {
	t.Parallel()
	f, endpoint := startFakeAddOns(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"no project", []string{"--base-url=https://p.example.com"}, nil, "--project is required"},
		{"project with slash", []string{"--project=projects/p", "--base-url=https://p.example.com"}, nil, "want a project id"},
		{"no base url", []string{"--project=p"}, nil, "--base-url is required"},
		{"http base url", []string{"--project=p", "--base-url=http://p.example.com"}, nil, "https only"},
		{"relative base url", []string{"--project=p", "--base-url=p.example.com"}, nil, "absolute URL"},
		{"empty deployment id", []string{"--project=p", "--base-url=https://p.example.com", "--deployment-id="}, nil, "--deployment-id must not be empty"},
		{"deployment id with slash", []string{"--project=p", "--base-url=https://p.example.com", "--deployment-id=a/b"}, nil, "no slash"},
		{"long deployment id", []string{"--project=p", "--base-url=https://p.example.com", "--deployment-id=" + strings.Repeat("x", 101)}, nil, "at most 100"},
		{"insecure without endpoint", []string{"--project=p", "--base-url=https://p.example.com", "--insecure"}, nil, "--insecure needs --endpoint"},
		{"unknown flag", []string{"--project=p", "--base-url=https://p.example.com", "--force"}, nil, "flag provided but not defined: -force"},
		{"positional argument", []string{"--project=p", "--base-url=https://p.example.com", "now"}, nil, `unexpected argument "now"`},
		{"bad env base url", []string{"--project=p"}, map[string]string{"POSTFACH_BASE_URL": "ftp://p.example.com"}, "https only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Every case points at the fake server and must fail before it
			// calls it.
			args := tc.args
			if !slices.Contains(args, "--insecure") {
				args = append(append([]string{}, endpoint...), args...)
			}
			_, err := deploy(t, func(k string) string { return tc.env[k] }, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("deploy %v: error %v, want one containing %q", tc.args, err, tc.want)
			}
		})
	}
	t.Cleanup(func() {
		if calls := f.takeCalls(); len(calls) > 0 {
			t.Errorf("bad flags reached the API: %v", calls)
		}
	})
}

func TestDeployAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"permission denied", status.Error(codes.PermissionDenied, "caller lacks gsuiteaddons.deployments.get"), "get deployment projects/p/deployments/postfach: rpc error: code = PermissionDenied desc = caller lacks gsuiteaddons.deployments.get (the caller needs roles/gsuiteaddons.developer"},
		{"unauthenticated", status.Error(codes.Unauthenticated, "no token"), "gcloud auth application-default login"},
		{"invalid", status.Error(codes.InvalidArgument, "bad manifest"), "code = InvalidArgument desc = bad manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, endpoint := startFakeAddOns(t)
			f.fail = tc.err
			_, err := deploy(t, noEnv, append(endpoint, "--project=p", "--base-url=https://p.example.com")...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestDeployStaleEtag: a deployment changed between our read and our
// replace is not overwritten.
func TestDeployStaleEtag(t *testing.T) {
	t.Parallel()
	f, endpoint := startFakeAddOns(t)
	args := append(endpoint, "--project=p", "--base-url=https://p.example.com")
	if _, err := deploy(t, noEnv, args...); err != nil {
		t.Fatal(err)
	}
	// Interpose a concurrent writer: the fake bumps the etag after every
	// GetDeployment.
	racing := &racingAddOns{fakeAddOns: f}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	gsuiteaddonspb.RegisterGSuiteAddOnsServer(srv, racing)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	_, err = deploy(t, noEnv, "--endpoint="+l.Addr().String(), "--insecure", "--project=p", "--base-url=https://other.example.com")
	if err == nil || !strings.Contains(err.Error(), "Aborted") || !strings.Contains(err.Error(), "run deploy again") {
		t.Errorf("error %v, want Aborted with advice", err)
	}
	checkStored(t, f, "projects/p/deployments/postfach", "https://p.example.com")
}

type racingAddOns struct{ *fakeAddOns }

func (r *racingAddOns) GetDeployment(ctx context.Context, req *gsuiteaddonspb.GetDeploymentRequest) (*gsuiteaddonspb.Deployment, error) {
	d, err := r.fakeAddOns.GetDeployment(ctx, req)
	if err == nil {
		r.mu.Lock()
		r.etags++
		r.deployments[req.GetName()].Etag = fmt.Sprintf("W/%d", r.etags)
		r.mu.Unlock()
	}
	return d, err
}

// TestCloudBuildDeployStep runs the add-on deployment step of
// cloudbuild.yaml, substitutions filled in, against the fake API.
func TestCloudBuildDeployStep(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../cloudbuild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var build struct {
		Steps []struct {
			ID   string   `yaml:"id"`
			Args []string `yaml:"args"`
		} `yaml:"steps"`
		Substitutions map[string]string `yaml:"substitutions"`
	}
	if err := yaml.Unmarshal(b, &build); err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, s := range build.Steps {
		if s.ID == "deploy-addon" {
			args = s.Args
		}
	}
	if len(args) == 0 || args[0] != "deploy" {
		t.Fatalf("cloudbuild.yaml: step deploy-addon runs %v, want `postfach deploy …`", args)
	}
	subst := map[string]string{"PROJECT_ID": "acme-postfach", "_BASE_URL": "https://postfach-123.europe-west1.run.app"}
	for k, v := range build.Substitutions {
		if _, ok := subst[k]; !ok {
			subst[k] = v
		}
	}
	expand := regexp.MustCompile(`\$\{?([A-Z_][A-Z0-9_]*)\}?`)
	var expanded []string
	for _, a := range args[1:] {
		expanded = append(expanded, expand.ReplaceAllStringFunc(a, func(m string) string {
			k := expand.FindStringSubmatch(m)[1]
			v, ok := subst[k]
			if !ok {
				t.Errorf("cloudbuild.yaml: deploy-addon uses undefined substitution %s", k)
			}
			return v
		}))
	}
	f, endpoint := startFakeAddOns(t)
	out, err := deploy(t, noEnv, append(expanded, endpoint...)...)
	if err != nil {
		t.Fatalf("postfach deploy %v: %v", expanded, err)
	}
	name := "projects/acme-postfach/deployments/" + subst["_DEPLOYMENT_ID"]
	if !strings.HasPrefix(out, "created deployment "+name) {
		t.Errorf("printed:\n%s", out)
	}
	checkStored(t, f, name, subst["_BASE_URL"])
}
