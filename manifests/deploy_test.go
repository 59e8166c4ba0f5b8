package manifests_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/cloudbuild/apiv1/v2/cloudbuildpb"
	"github.com/google/go-cmp/cmp"
)

// The built-in substitutions the script steps see in these tests.
const (
	testProject = "acme-postfach"
	testBuildID = "b-1"
)

// runScriptStep runs the bash script of a cloudbuild.yaml step the way
// Cloud Build does with automapSubstitutions: every substitution (the
// build's defaults, overridden by subst) and the built-ins are environment
// variables. gcloud is a stand-in that records its arguments; calls holds
// one entry per gcloud run.
func runScriptStep(t *testing.T, b *cloudbuildpb.Build, id string, subst map[string]string) (out string, calls [][]string, err error) {
	t.Helper()
	bash, lerr := exec.LookPath("bash")
	if lerr != nil {
		t.Skip("bash is not installed: the cloudbuild.yaml script steps are not run")
	}
	script := stepsByID(t, b)[id].GetScript()
	if !strings.HasPrefix(script, "#!/usr/bin/env bash\n") {
		t.Fatalf("step %s is not a bash script:\n%s", id, script)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "gcloud.log")
	stub := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$GCLOUD_LOG\"; done\nprintf '\\036\\n' >> \"$GCLOUD_LOG\"\n"
	if err := os.WriteFile(filepath.Join(dir, "gcloud"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, id+".sh")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := maps.Clone(b.GetSubstitutions())
	maps.Copy(vars, subst)
	vars["PROJECT_ID"], vars["PROJECT_NUMBER"], vars["BUILD_ID"] = testProject, "123456789012", testBuildID
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "GCLOUD_LOG=" + log}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bash, scriptFile)
	cmd.Dir = ".." // Cloud Build runs steps in the source root
	cmd.Env = env
	o, err := cmd.CombinedOutput()
	logged, rerr := os.ReadFile(log)
	if rerr != nil && !os.IsNotExist(rerr) {
		t.Fatal(rerr)
	}
	for _, call := range strings.Split(string(logged), "\036\n") {
		if call != "" {
			calls = append(calls, strings.Split(strings.TrimSuffix(call, "\n"), "\n"))
		}
	}
	return string(o), calls, err
}

// The values the tests give the required substitutions.
var requiredSubst = map[string]string{
	"_BASE_URL":              "https://postfach.example.com",
	"_ADDON_SERVICE_ACCOUNT": "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
	"_OAUTH_CLIENT_ID":       "addon-client.apps.googleusercontent.com",
}

func withRequired(extra map[string]string) map[string]string {
	m := maps.Clone(requiredSubst)
	maps.Copy(m, extra)
	return m
}

const testConnectClient = "web-client.apps.googleusercontent.com"

// accessModes are the three ways cloudbuild.yaml deploys mailbox access,
// with the settings and secrets each adds to the service.
var accessModes = []struct {
	name        string
	subst       map[string]string
	wantEnv     map[string]string
	wantSecrets map[string]string
}{
	{
		name:    "consent",
		subst:   map[string]string{"_CONNECT_CLIENT_ID": testConnectClient},
		wantEnv: map[string]string{"POSTFACH_CONNECT_CLIENT_ID": testConnectClient},
		wantSecrets: map[string]string{
			"POSTFACH_CONNECT_CLIENT_SECRET": "postfach-connect-client-secret:latest",
			"POSTFACH_TOKEN_KEYS":            "postfach-token-keys:latest",
			"POSTFACH_OAUTH_STATE_KEY":       "postfach-oauth-state-key:latest",
		},
	},
	{
		name:        "delegation",
		subst:       map[string]string{"_DELEGATION_KEY_SECRET": "postfach-delegation-key"},
		wantEnv:     map[string]string{},
		wantSecrets: map[string]string{"POSTFACH_DELEGATION_KEY": "postfach-delegation-key:latest"},
	},
	{
		name:    "both",
		subst:   map[string]string{"_CONNECT_CLIENT_ID": testConnectClient, "_DELEGATION_KEY_SECRET": "dwd-key"},
		wantEnv: map[string]string{"POSTFACH_CONNECT_CLIENT_ID": testConnectClient},
		wantSecrets: map[string]string{
			"POSTFACH_CONNECT_CLIENT_SECRET": "postfach-connect-client-secret:latest",
			"POSTFACH_TOKEN_KEYS":            "postfach-token-keys:latest",
			"POSTFACH_OAUTH_STATE_KEY":       "postfach-oauth-state-key:latest",
			"POSTFACH_DELEGATION_KEY":        "dwd-key:latest",
		},
	},
	{
		// Not a mailbox access mode: report charts on, beside delegation.
		name:    "report charts",
		subst:   map[string]string{"_DELEGATION_KEY_SECRET": "dwd-key", "_REPORT_KEY_SECRET": "postfach-report-key"},
		wantEnv: map[string]string{},
		wantSecrets: map[string]string{
			"POSTFACH_DELEGATION_KEY": "dwd-key:latest",
			"POSTFACH_REPORT_KEY":     "postfach-report-key:latest",
		},
	},
}

// commonEnv is what the service gets in every mode.
var commonEnv = map[string]string{
	"POSTFACH_STORE":                     "firestore", // serve refuses to guess a store
	"GOOGLE_CLOUD_PROJECT":               testProject,
	"POSTFACH_BASE_URL":                  "https://postfach.example.com",
	"POSTFACH_ADDON_SERVICE_ACCOUNT":     "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
	"POSTFACH_OAUTH_CLIENT_ID":           "addon-client.apps.googleusercontent.com",
	"POSTFACH_PUBSUB_TOPIC":              "projects/" + testProject + "/topics/postfach-gmail",
	"POSTFACH_PUSH_SERVICE_ACCOUNT":      "postfach-push@" + testProject + ".iam.gserviceaccount.com",
	"POSTFACH_SCHEDULER_SERVICE_ACCOUNT": "postfach-scheduler@" + testProject + ".iam.gserviceaccount.com",
	"LOG_LEVEL":                          "info",
}

// deployFlags parses gcloud run deploy's --set-env-vars and --set-secrets
// (KEY=VALUE,…), failing on a flag given twice or a key set twice.
func deployFlags(t *testing.T, args []string) (env, secrets map[string]string, clearSecrets bool) {
	t.Helper()
	parse := func(flag, list string) map[string]string {
		m := map[string]string{}
		for _, kv := range strings.Split(list, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				t.Errorf("%s: %q is not KEY=VALUE", flag, kv)
			}
			if _, dup := m[k]; dup {
				t.Errorf("%s sets %s twice", flag, k)
			}
			m[k] = v
		}
		return m
	}
	for _, a := range args {
		if list, ok := strings.CutPrefix(a, "--set-env-vars="); ok {
			if env != nil {
				t.Error("--set-env-vars given twice")
			}
			env = parse("--set-env-vars", list)
		}
		if list, ok := strings.CutPrefix(a, "--set-secrets="); ok {
			if secrets != nil {
				t.Error("--set-secrets given twice")
			}
			secrets = parse("--set-secrets", list)
		}
		if a == "--clear-secrets" {
			clearSecrets = true
		}
	}
	return env, secrets, clearSecrets
}

// TestCloudBuildDeployRunStep runs the deploy-run script for each mailbox
// access mode with a stand-in gcloud and checks the service it deploys:
// exactly the settings and secrets of the mode, so that a later build in
// another mode removes what the mode it replaces had.
func TestCloudBuildDeployRunStep(t *testing.T) {
	t.Parallel()
	b := loadBuild(t)
	for _, mode := range accessModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			out, calls, err := runScriptStep(t, b, "deploy-run", withRequired(mode.subst))
			if err != nil {
				t.Fatalf("deploy-run: %v\n%s", err, out)
			}
			if len(calls) != 1 {
				t.Fatalf("deploy-run ran gcloud %d times, want once: %q", len(calls), calls)
			}
			args := calls[0]
			if len(args) < 3 || args[0] != "run" || args[1] != "deploy" || args[2] != "postfach" {
				t.Fatalf("deploy-run runs gcloud %q, want gcloud run deploy postfach …", args)
			}
			for _, want := range []string{
				"--image=europe-west1-docker.pkg.dev/" + testProject + "/postfach/postfach:" + testBuildID,
				"--region=europe-west1",
				"--service-account=postfach-run@" + testProject + ".iam.gserviceaccount.com",
				"--no-invoker-iam-check",
				"--no-cpu-throttling",
			} {
				if !slices.Contains(args, want) {
					t.Errorf("gcloud run deploy lacks %s: %q", want, args)
				}
			}
			env, secrets, _ := deployFlags(t, args)
			wantEnv := maps.Clone(commonEnv)
			maps.Copy(wantEnv, mode.wantEnv)
			if diff := cmp.Diff(wantEnv, env); diff != "" {
				t.Errorf("--set-env-vars (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mode.wantSecrets, secrets); diff != "" {
				t.Errorf("--set-secrets (-want +got):\n%s", diff)
			}
		})
	}

	// Without a mode (check-config refuses it first) no secret stays.
	t.Run("neither", func(t *testing.T) {
		t.Parallel()
		out, calls, err := runScriptStep(t, b, "deploy-run", withRequired(nil))
		if err != nil || len(calls) != 1 {
			t.Fatalf("deploy-run: %v, %d gcloud calls\n%s", err, len(calls), out)
		}
		_, secrets, clear := deployFlags(t, calls[0])
		if secrets != nil || !clear {
			t.Errorf("without a mode: secrets %v, --clear-secrets %v; want none, cleared", secrets, clear)
		}
	})

	// Every setting `postfach serve` reads is set in some mode, or listed
	// in notForCloudRun with the reason.
	t.Run("serve settings", func(t *testing.T) {
		set := map[string]bool{}
		for k := range commonEnv {
			set[k] = true
		}
		for _, mode := range accessModes {
			for k := range mode.wantEnv {
				set[k] = true
			}
			for k := range mode.wantSecrets {
				set[k] = true
			}
		}
		for _, k := range serveEnv(t) {
			if !set[k] {
				t.Errorf("no mode of deploy-run sets %s, which cmd/postfach reads: set it there, or add it to notForCloudRun with the reason", k)
			}
		}
	})
}

// TestCloudBuildCheckConfig runs the check-config script: it fails, naming
// what is missing, without a required value or without any mailbox access.
func TestCloudBuildCheckConfig(t *testing.T) {
	t.Parallel()
	b := loadBuild(t)
	tests := []struct {
		name     string
		subst    map[string]string
		wantOK   bool
		wantSaid string
	}{
		{"consent", withRequired(accessModes[0].subst), true, "consent on, delegation off"},
		{"delegation", withRequired(accessModes[1].subst), true, "consent off, delegation on"},
		{"both", withRequired(accessModes[2].subst), true, "consent on, delegation on"},
		{"neither", withRequired(nil), false, "_CONNECT_CLIENT_ID"},
		{"no base URL", withRequired(map[string]string{"_BASE_URL": "", "_CONNECT_CLIENT_ID": testConnectClient}), false, "_BASE_URL"},
		{"no add-on client", withRequired(map[string]string{"_OAUTH_CLIENT_ID": "", "_CONNECT_CLIENT_ID": testConnectClient}), false, "_OAUTH_CLIENT_ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := runScriptStep(t, b, "check-config", tc.subst)
			if (err == nil) != tc.wantOK || !strings.Contains(out, tc.wantSaid) {
				t.Fatalf("check-config exited with %v, want ok=%v and %q; output:\n%s", err, tc.wantOK, tc.wantSaid, out)
			}
		})
	}
}

// deployGuide is the README's section "Deploy to your own Google Cloud
// project".
func deployGuide(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## Deploy to your own Google Cloud project\n")
	if i < 0 {
		t.Fatal("README.md has no section Deploy to your own Google Cloud project")
	}
	s = s[i+1:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// codeBlocks returns the fenced code of a Markdown text, list items'
// indented fences included.
func codeBlocks(md string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestDeployGuideMatchesCloudBuild keeps the README's deploy guide and
// cloudbuild.yaml saying the same thing: the substitutions and their
// defaults, the secrets (created, granted to the service, wired by the
// build), the settings the service gets, the APIs the commands need, the
// shell variables and the step numbers the guide refers to.
func TestDeployGuideMatchesCloudBuild(t *testing.T) {
	t.Parallel()
	b := loadBuild(t)
	guide := deployGuide(t)
	code := codeBlocks(guide)

	t.Run("substitutions", func(t *testing.T) {
		inGuide := map[string]bool{}
		for _, m := range regexp.MustCompile(`\b_[A-Z][A-Z0-9_]*\b`).FindAllString(guide, -1) {
			inGuide[m] = true
		}
		subst := b.GetSubstitutions()
		for k := range subst {
			if !inGuide[k] {
				t.Errorf("cloudbuild.yaml substitution %s is not in the README's deploy guide", k)
			}
		}
		for k := range inGuide {
			if _, ok := subst[k]; !ok {
				t.Errorf("the README's deploy guide names %s, which cloudbuild.yaml does not define", k)
			}
		}
		// The guide's table gives each default.
		row := regexp.MustCompile("(?m)^\\| `(_[A-Z0-9_]+)` \\| ([^|]+) \\|")
		rows := row.FindAllStringSubmatch(guide, -1)
		if len(rows) != len(subst) {
			t.Errorf("the guide's substitution table has %d rows, cloudbuild.yaml %d substitutions", len(rows), len(subst))
		}
		for _, r := range rows {
			k, def := r[1], strings.TrimSpace(r[2])
			want, ok := subst[k]
			switch {
			case !ok:
				// reported above
			case want == "" && def != "required" && !strings.HasPrefix(def, "empty"):
				t.Errorf("guide: %s defaults to %s; cloudbuild.yaml has no default (say required or empty)", k, def)
			case want != "" && def != "`"+want+"`":
				t.Errorf("guide: %s defaults to %s, cloudbuild.yaml to %q", k, def, want)
			}
		}
	})

	t.Run("secrets", func(t *testing.T) {
		created := map[string]bool{}
		for _, m := range regexp.MustCompile(`gcloud secrets create ([a-z0-9-]+)`).FindAllStringSubmatch(code, -1) {
			created[m[1]] = true
		}
		granted := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?s)for s in ([a-z0-9 -]+); do\s+gcloud secrets add-iam-policy-binding "\$\{s\}" \\\s+--member="serviceAccount:\$\{RUN_SA\}" --role=roles/secretmanager.secretAccessor`).FindAllStringSubmatch(code, -1) {
			for _, s := range strings.Fields(m[1]) {
				granted[s] = true
			}
		}
		for _, m := range regexp.MustCompile(`gcloud secrets add-iam-policy-binding ([a-z0-9-]+) \\\s+--member="serviceAccount:\$\{RUN_SA\}" --role=roles/secretmanager.secretAccessor`).FindAllStringSubmatch(code, -1) {
			granted[m[1]] = true
		}
		// The build's secrets: the fixed names in deploy-run, and the
		// delegation key under the name the guide gives _DELEGATION_KEY_SECRET.
		wired := map[string]bool{}
		for _, m := range regexp.MustCompile(`=([a-z0-9-]+):latest`).FindAllStringSubmatch(stepsByID(t, b)["deploy-run"].GetScript(), -1) {
			wired[m[1]] = true
		}
		dk := regexp.MustCompile(`(?m)^DELEGATION_KEY_SECRET=([a-z0-9-]+)$`).FindStringSubmatch(code)
		if dk == nil {
			t.Fatal("the guide does not set DELEGATION_KEY_SECRET to the delegation key's secret")
		}
		wired[dk[1]] = true
		if diff := cmp.Diff(wired, created); diff != "" {
			t.Errorf("secrets the build wires (-) and the guide creates (+):\n%s", diff)
		}
		if diff := cmp.Diff(created, granted); diff != "" {
			t.Errorf("secrets the guide creates (-) and grants RUN_SA secretAccessor on (+):\n%s", diff)
		}
	})

	t.Run("service settings", func(t *testing.T) {
		keys := map[string]bool{}
		for k := range commonEnv {
			keys[k] = true
		}
		for _, mode := range accessModes {
			for k := range mode.wantEnv {
				keys[k] = true
			}
			for k := range mode.wantSecrets {
				keys[k] = true
			}
		}
		for k := range keys {
			if !strings.Contains(guide, "`"+k) {
				t.Errorf("the guide does not say the service gets %s", k)
			}
		}
	})

	t.Run("APIs", func(t *testing.T) {
		enable := regexp.MustCompile(`(?s)gcloud services enable ((?:[a-z0-9.-]+\.googleapis\.com[\s\\]*)+)`).FindStringSubmatch(code)
		if enable == nil {
			t.Fatal("the guide enables no APIs")
		}
		enabled := map[string]bool{}
		for _, f := range strings.Fields(strings.ReplaceAll(enable[1], `\`, " ")) {
			enabled[f] = true
		}
		// The API each gcloud command group of the guide calls.
		api := map[string]string{
			"run": "run", "builds": "cloudbuild", "artifacts": "artifactregistry",
			"firestore": "firestore", "pubsub": "pubsub", "scheduler": "cloudscheduler",
			"secrets": "secretmanager", "iam": "iam", "workspace-add-ons": "gsuiteaddons",
		}
		noAPI := map[string]bool{"config": true, "projects": true, "services": true, "auth": true}
		for _, m := range regexp.MustCompile(`gcloud ([a-z-]+)`).FindAllStringSubmatch(code, -1) {
			group := m[1]
			if noAPI[group] {
				continue
			}
			a, ok := api[group]
			if !ok {
				t.Errorf("gcloud %s: which API does it need? add it to this test", group)
				continue
			}
			if !enabled[a+".googleapis.com"] {
				t.Errorf("the guide runs gcloud %s but does not enable %s.googleapis.com", group, a)
			}
		}
	})

	t.Run("shell variables", func(t *testing.T) {
		defined := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_]*)=`).FindAllStringSubmatch(code, -1) {
			defined[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`\bread (?:-[a-z]+ )*(?:'[^']*' )?([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(code, -1) {
			defined[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(code, -1) {
			if !defined[m[1]] {
				t.Errorf("the guide uses $%s but never sets it", m[1])
			}
		}
	})

	t.Run("step references", func(t *testing.T) {
		steps := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^### ([0-9]+[a-z]?)\. `).FindAllStringSubmatch(guide, -1) {
			steps[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`\bsteps? ([0-9]+[a-z]?)\b`).FindAllStringSubmatch(guide, -1) {
			if !steps[m[1]] {
				t.Errorf("the guide refers to step %s, which it does not have", m[1])
			}
		}
		// The build's failure message points at the step that sets access up.
		if !strings.Contains(stepsByID(t, b)["check-config"].GetScript(), "step 4b") || !strings.Contains(guide, "### 4b. Mailbox access") {
			t.Error("check-config's hint (step 4b) does not match the guide's mailbox access step")
		}
	})
}
