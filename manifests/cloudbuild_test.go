package manifests_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/cloudbuild/apiv1/v2/cloudbuildpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"
)

const (
	cloudBuildFile = "../cloudbuild.yaml"
	// image is the tag the build gives the container image.
	image = "${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/postfach:${BUILD_ID}"
)

// jsonValue turns a decoded YAML document into one encoding/json can
// marshal: mappings must have string keys.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			var err error
			if x[k], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return x, nil
	case map[any]any:
		return nil, fmt.Errorf("mapping with non-string keys: %v", x)
	case []any:
		for i, e := range x {
			var err error
			if x[i], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	return v, nil
}

// loadBuild parses cloudbuild.yaml (YAML → JSON) strictly into Cloud
// Build's own Build message: an unknown or misspelled field, or a value of
// the wrong type, fails.
func loadBuild(t *testing.T) *cloudbuildpb.Build {
	t.Helper()
	b, err := os.ReadFile(cloudBuildFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", cloudBuildFile, err)
	}
	if doc, err = jsonValue(doc); err != nil {
		t.Fatalf("%s: %v", cloudBuildFile, err)
	}
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	build := new(cloudbuildpb.Build)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(j, build); err != nil {
		t.Fatalf("%s is not a cloudbuildpb.Build: %v", cloudBuildFile, err)
	}
	return build
}

// stepsByID indexes the steps and checks that ids are unique and that
// waitFor names earlier steps.
func stepsByID(t *testing.T, b *cloudbuildpb.Build) map[string]*cloudbuildpb.BuildStep {
	t.Helper()
	steps := map[string]*cloudbuildpb.BuildStep{}
	for i, s := range b.GetSteps() {
		if s.GetId() == "" {
			t.Errorf("step %d (%s) has no id", i, s.GetName())
			continue
		}
		if steps[s.GetId()] != nil {
			t.Errorf("step id %s is used twice", s.GetId())
		}
		for _, w := range s.GetWaitFor() {
			if w != "-" && steps[w] == nil {
				t.Errorf("step %s waits for %q, which is not an earlier step", s.GetId(), w)
			}
		}
		steps[s.GetId()] = s
	}
	return steps
}

// runsAfter reports whether step a starts only after step b finished:
// Cloud Build starts a step without waitFor after every earlier step, one
// with waitFor ["-"] at once, others after the steps they name.
func runsAfter(b *cloudbuildpb.Build, a, before string) bool {
	idx := map[string]int{}
	for i, s := range b.GetSteps() {
		idx[s.GetId()] = i
	}
	var deps func(i int, seen map[int]bool)
	deps = func(i int, seen map[int]bool) {
		s := b.GetSteps()[i]
		var direct []int
		switch w := s.GetWaitFor(); {
		case len(w) == 0:
			for j := 0; j < i; j++ {
				direct = append(direct, j)
			}
		case slices.Equal(w, []string{"-"}):
		default:
			for _, id := range w {
				direct = append(direct, idx[id])
			}
		}
		for _, j := range direct {
			if !seen[j] {
				seen[j] = true
				deps(j, seen)
			}
		}
	}
	ai, ok1 := idx[a]
	bi, ok2 := idx[before]
	if !ok1 || !ok2 {
		return false
	}
	seen := map[int]bool{}
	deps(ai, seen)
	return seen[bi]
}

// goMinor is the Go language version of go.mod without the patch: "1.26".
func goMinor(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

func TestCloudBuildSteps(t *testing.T) {
	t.Parallel()
	b := loadBuild(t)
	steps := stepsByID(t, b)
	for _, id := range []string{"check-config", "test", "build", "push", "indexes", "deploy-run", "deploy-addon"} {
		if steps[id] == nil {
			t.Fatalf("cloudbuild.yaml: no step %s", id)
		}
	}

	t.Run("order", func(t *testing.T) {
		for _, o := range []struct{ step, after string }{
			{"test", "check-config"},
			{"build", "check-config"},
			{"push", "test"}, // nothing untested is pushed
			{"push", "build"},
			{"indexes", "test"},
			{"deploy-run", "push"},
			{"deploy-run", "indexes"}, // the indexes exist before code that needs them
			{"deploy-addon", "deploy-run"},
		} {
			if !runsAfter(b, o.step, o.after) {
				t.Errorf("step %s does not wait for %s", o.step, o.after)
			}
		}
	})

	t.Run("test", func(t *testing.T) {
		s := steps["test"]
		if got, want := s.GetName(), "golang:"+goMinor(t); got != want {
			t.Errorf("test step image %s, want %s (go.mod)", got, want)
		}
		if !strings.Contains(s.GetScript(), "bash .ci/run") {
			t.Errorf("test step does not run .ci/run:\n%s", s.GetScript())
		}
		if _, err := os.Stat("../.ci/run"); err != nil {
			t.Error(err)
		}
	})

	t.Run("build and push", func(t *testing.T) {
		if diff := cmp.Diff([]string{"build", "-f", "manifests/Dockerfile", "-t", image, "."}, steps["build"].GetArgs()); diff != "" {
			t.Errorf("build args (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"push", image}, steps["push"].GetArgs()); diff != "" {
			t.Errorf("push args (-want +got):\n%s", diff)
		}
		if !slices.Contains(b.GetImages(), image) {
			t.Errorf("images %v do not list %s", b.GetImages(), image)
		}
	})

	t.Run("indexes", func(t *testing.T) {
		if !strings.Contains(steps["indexes"].GetScript(), "manifests/firestore.indexes.json") {
			t.Error("the indexes step does not read manifests/firestore.indexes.json")
		}
	})

	t.Run("deploy-run", func(t *testing.T) {
		s := steps["deploy-run"]
		if !strings.HasPrefix(s.GetScript(), "#!/usr/bin/env bash\n") || !strings.Contains(s.GetScript(), "gcloud run deploy") {
			t.Errorf("deploy-run is not a bash script running gcloud run deploy:\n%s", s.GetScript())
		}
		// TestCloudBuildDeployRunStep runs the script.
	})

	t.Run("deploy-addon", func(t *testing.T) {
		s := steps["deploy-addon"]
		if s.GetName() != image || len(s.GetArgs()) == 0 || s.GetArgs()[0] != "deploy" {
			t.Errorf("deploy-addon runs %s %v, want the built image with `deploy …`", s.GetName(), s.GetArgs())
		}
		// cmd/postfach's TestCloudBuildDeployStep runs these args.
	})

	t.Run("substitutions", func(t *testing.T) {
		subst := b.GetSubstitutions()
		for k := range subst {
			if !regexp.MustCompile(`^_[A-Z0-9_]+$`).MatchString(k) {
				t.Errorf("substitution %s: user substitutions are _UPPER_CASE", k)
			}
		}
		builtin := map[string]bool{"PROJECT_ID": true, "PROJECT_NUMBER": true, "BUILD_ID": true, "LOCATION": true}
		ref := regexp.MustCompile(`\$\{?([A-Z_][A-Z0-9_]*)`)
		check := func(where, text string) {
			for _, m := range ref.FindAllStringSubmatch(text, -1) {
				k := m[1]
				if _, ok := subst[k]; !ok && !builtin[k] && strings.HasPrefix(k, "_") {
					t.Errorf("%s uses %s, which substitutions does not define (ALLOW_LOOSE would make it empty)", where, k)
				}
			}
		}
		for _, s := range b.GetSteps() {
			check(s.GetId()+".name", s.GetName())
			for _, a := range s.GetArgs() {
				check(s.GetId()+".args", a)
			}
			for _, e := range s.GetEnv() {
				check(s.GetId()+".env", e)
			}
			check(s.GetId()+".script", s.GetScript())
		}
		for _, i := range b.GetImages() {
			check("images", i)
		}
		// A substitution without a default must be given; check-config
		// says so before anything runs.
		for k, v := range subst {
			if v == "" && !strings.Contains(steps["check-config"].GetScript(), k) {
				t.Errorf("substitution %s has no default and check-config does not check it", k)
			}
		}
	})

	t.Run("options", func(t *testing.T) {
		o := b.GetOptions()
		if !o.GetAutomapSubstitutions() {
			t.Error("automapSubstitutions is off: the script steps read substitutions from the environment")
		}
		if o.GetSubstitutionOption() != cloudbuildpb.BuildOptions_ALLOW_LOOSE {
			t.Error("substitutionOption is not ALLOW_LOOSE: substitutions used only by scripts would be refused")
		}
		if d := b.GetTimeout().AsDuration(); d < 30*time.Minute {
			t.Errorf("timeout %v: the tests with -race and a new index can take longer", d)
		}
	})
}

// notForCloudRun are the settings cmd/postfach reads that the Cloud Run
// service does not set, and why.
var notForCloudRun = map[string]string{
	"POSTFACH_SQLITE_PATH":       "the service uses Firestore",
	"POSTFACH_GMAIL_ENDPOINT":    "tests and the Gmail simulator only",
	"POSTFACH_PUSH_AUDIENCE":     "the default, BASE_URL/gmail/push, is the subscription's audience (the README)",
	"POSTFACH_FIRESTORE_PROJECT": "GOOGLE_CLOUD_PROJECT is set",
	"POSTFACH_RESYNC_WINDOW":     "the default, 30 days, suits most inboxes",
	"POSTFACH_SYNC_LEASE_TTL":    "the default, 2 minutes, renewed while a sync runs, suits Cloud Run; the chaos run shortens it",
	"POSTFACH_RATE_BURST":        "the default, 30 actions at once, suits people; the README shows how to change it",
	"POSTFACH_RATE_PER_SECOND":   "the default, 5 a second, suits people; the README shows how to change it",
	"POSTFACH_GOOGLE_AUTH_URL":   "Google's own by default; dev and tests point it at a stand-in",
	"POSTFACH_GOOGLE_TOKEN_URL":  "Google's own by default; dev and tests point it at a stand-in",
	"POSTFACH_GOOGLE_REVOKE_URL": "Google's own by default; dev and tests point it at a stand-in",
	"POSTFACH_GOOGLE_CERTS_URL":  "Google's own by default; dev and tests point it at a stand-in",
}

// serveEnv lists the POSTFACH_* settings that cmd/postfach reads, less
// notForCloudRun.
func serveEnv(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../cmd/postfach/*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var keys []string
	lit := regexp.MustCompile(`"(POSTFACH_[A-Z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllSubmatch(b, -1) {
			k := string(m[1])
			if _, skip := notForCloudRun[k]; !skip && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		t.Fatal("found no POSTFACH_* settings in cmd/postfach")
	}
	slices.Sort(keys)
	return keys
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"FROM golang:" + goMinor(t) + " AS build",
		"go build -trimpath",
		"./cmd/postfach",
		`ENTRYPOINT ["/postfach"]`,
		`CMD ["serve"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// Every top-level directory with Go code is copied into the build.
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		hasGo := false
		filepath.WalkDir(filepath.Join("..", e.Name()), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
				hasGo = true
				return filepath.SkipAll
			}
			return nil
		})
		if hasGo && !strings.Contains(df, "COPY "+e.Name()+"/ "+e.Name()+"/") {
			t.Errorf("Dockerfile does not COPY %s/, which holds Go code", e.Name())
		}
	}
}

// TestCloudBuildIndexesStep runs the script of the indexes step with a
// stand-in gcloud and checks the commands it runs: one create per index of
// firestore.indexes.json, an index that exists is fine, any other error
// fails the step.
func TestCloudBuildIndexesStep(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the indexes step (a python3 script in the Cloud SDK image) is not run")
	}
	script := stepsByID(t, loadBuild(t))["indexes"].GetScript()
	if !strings.HasPrefix(script, "#!/usr/bin/env python3\n") {
		t.Fatalf("the indexes step is not a python3 script:\n%s", script)
	}
	want := wantIndexCommands(t)
	if len(want) == 0 {
		t.Fatal("firestore.indexes.json declares no index")
	}

	tests := []struct {
		name     string
		exists   string // gcloud answers ALREADY_EXISTS for a command containing this
		deny     string // gcloud answers PERMISSION_DENIED for a command containing this
		wantOK   bool
		wantSaid string
	}{
		{"all new", "", "", true, "created index"},
		{"one exists", strings.Join(want[len(want)-1], " "), "", true, "index exists:"},
		{"denied", "", "--collection-group=", false, "PERMISSION_DENIED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			log := filepath.Join(dir, "gcloud.log")
			stub := `#!/bin/sh
printf '%s\n' "$*" >> "$GCLOUD_LOG"
case "$*" in *"$GCLOUD_EXISTS"*) echo "ERROR: (gcloud.firestore.indexes.composite.create) ALREADY_EXISTS: index already exists" >&2; exit 1;; esac
case "$*" in *"$GCLOUD_DENY"*) echo "ERROR: (gcloud.firestore.indexes.composite.create) PERMISSION_DENIED: denied" >&2; exit 1;; esac
echo "Create request issued" >&2
`
			if err := os.WriteFile(filepath.Join(dir, "gcloud"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			scriptFile := filepath.Join(dir, "indexes.py")
			if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			never := "\x01never\x01"
			cmd := exec.Command(python, scriptFile)
			cmd.Dir = ".." // Cloud Build runs steps in the source root
			cmd.Env = append(os.Environ(),
				"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
				"PROJECT_ID=acme-postfach", "_FIRESTORE_DATABASE=(default)",
				"GCLOUD_LOG="+log,
				"GCLOUD_EXISTS="+or(tc.exists, never), "GCLOUD_DENY="+or(tc.deny, never))
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.wantOK || !strings.Contains(string(out), tc.wantSaid) {
				t.Fatalf("step exited with %v, want ok=%v; output:\n%s", err, tc.wantOK, out)
			}
			if !tc.wantOK {
				return
			}
			logged, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, line := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
				got = append(got, strings.Fields(line))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("gcloud commands (-want +got):\n%s", diff)
			}
		})
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// wantIndexCommands derives from firestore.indexes.json the gcloud command
// that creates each index (`gcloud firestore indexes composite create`).
func wantIndexCommands(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("firestore.indexes.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Indexes []struct {
			CollectionGroup string `json:"collectionGroup"`
			QueryScope      string `json:"queryScope"`
			Fields          []struct {
				FieldPath   string `json:"fieldPath"`
				Order       string `json:"order"`
				ArrayConfig string `json:"arrayConfig"`
			} `json:"fields"`
		} `json:"indexes"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{"": "collection", "COLLECTION": "collection", "COLLECTION_GROUP": "collection-group"}
	var cmds [][]string
	for _, ix := range doc.Indexes {
		scope, ok := scopes[ix.QueryScope]
		if !ok {
			t.Fatalf("index on %s: query scope %q", ix.CollectionGroup, ix.QueryScope)
		}
		c := []string{"firestore", "indexes", "composite", "create", "--project=acme-postfach", "--database=(default)",
			"--collection-group=" + ix.CollectionGroup, "--query-scope=" + scope}
		for _, f := range ix.Fields {
			conf := "order=" + strings.ToLower(f.Order)
			if f.ArrayConfig != "" {
				conf = "array-config=" + strings.ToLower(f.ArrayConfig)
			}
			c = append(c, "--field-config=field-path="+f.FieldPath+","+conf)
		}
		cmds = append(cmds, c)
	}
	return cmds
}
