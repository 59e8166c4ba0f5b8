package manifests_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/scheduler/apiv1/schedulerpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/postfach/postfach/internal/httpapi"
)

// schedulerVars fill the placeholders of scheduler.json in these tests.
var schedulerVars = map[string]string{
	"${PROJECT_ID}":                "acme-postfach",
	"${REGION}":                    "europe-west1",
	"${BASE_URL}":                  "https://postfach-123456789.europe-west1.run.app",
	"${SCHEDULER_SERVICE_ACCOUNT}": "postfach-scheduler@acme-postfach.iam.gserviceaccount.com",
}

// wantJobs are the jobs scheduler.json must declare: each calls one task
// endpoint of the HTTP server.
var wantJobs = map[string]string{
	"postfach-renew-watches":    httpapi.PathRenewWatches,
	"postfach-sync-sweep":       httpapi.PathSweep,
	"postfach-reconcile-counts": httpapi.PathReconcile,
	"postfach-sla-sweep":        httpapi.PathSLASweep,
}

// loadSchedulerJobs reads scheduler.json, fills in schedulerVars and parses
// each job strictly into Cloud Scheduler's own Job message.
func loadSchedulerJobs(t *testing.T) []*schedulerpb.Job {
	t.Helper()
	b, err := os.ReadFile("scheduler.json")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range schedulerVars {
		b = bytes.ReplaceAll(b, []byte(k), []byte(v))
	}
	if i := bytes.Index(b, []byte("${")); i >= 0 {
		t.Fatalf("scheduler.json: unknown placeholder at %q", b[i:min(len(b), i+30)])
	}
	var doc struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("scheduler.json: %v", err)
	}
	var jobs []*schedulerpb.Job
	for i, raw := range doc.Jobs {
		j := new(schedulerpb.Job)
		if err := (protojson.UnmarshalOptions{}).Unmarshal(raw, j); err != nil {
			t.Fatalf("scheduler.json: job %d is not a schedulerpb.Job: %v", i, err)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

func TestSchedulerJobs(t *testing.T) {
	t.Parallel()
	base := schedulerVars["${BASE_URL}"]
	name := regexp.MustCompile(`^projects/acme-postfach/locations/europe-west1/jobs/([a-z][a-z0-9-]*)$`)
	seen := map[string]bool{}
	for _, j := range loadSchedulerJobs(t) {
		m := name.FindStringSubmatch(j.GetName())
		if m == nil {
			t.Errorf("job name %q: want projects/${PROJECT_ID}/locations/${REGION}/jobs/ID", j.GetName())
			continue
		}
		id := m[1]
		seen[id] = true
		path, ok := wantJobs[id]
		if !ok {
			t.Errorf("job %s: not a task the server serves", id)
			continue
		}
		h := j.GetHttpTarget()
		if h == nil {
			t.Errorf("job %s: no httpTarget", id)
			continue
		}
		if got, want := h.GetUri(), base+path; got != want {
			t.Errorf("job %s: uri %q, want %q", id, got, want)
		}
		if got := h.GetHttpMethod(); got != schedulerpb.HttpMethod_POST {
			t.Errorf("job %s: method %v, want POST (the server routes POST only)", id, got)
		}
		// The server accepts the scheduler's OIDC token only with the
		// audience POSTFACH_BASE_URL + the request URI, signed for
		// POSTFACH_SCHEDULER_SERVICE_ACCOUNT.
		oidc := h.GetOidcToken()
		if oidc == nil {
			t.Errorf("job %s: no oidcToken: the task endpoints refuse requests without one", id)
			continue
		}
		if got, want := oidc.GetAudience(), base+path; got != want {
			t.Errorf("job %s: OIDC audience %q, want the URI %q", id, got, want)
		}
		if got, want := oidc.GetServiceAccountEmail(), schedulerVars["${SCHEDULER_SERVICE_ACCOUNT}"]; got != want {
			t.Errorf("job %s: OIDC service account %q, want %q", id, got, want)
		}
		if len(strings.Fields(j.GetSchedule())) != 5 {
			t.Errorf("job %s: schedule %q is not a 5-field cron expression", id, j.GetSchedule())
		}
		if _, err := time.LoadLocation(j.GetTimeZone()); j.GetTimeZone() == "" || err != nil {
			t.Errorf("job %s: time zone %q: %v", id, j.GetTimeZone(), err)
		}
		// Cloud Scheduler allows 15 s to 30 min for HTTP targets.
		if d := j.GetAttemptDeadline().AsDuration(); d < 15*time.Second || d > 30*time.Minute {
			t.Errorf("job %s: attempt deadline %v outside 15s..30m", id, d)
		}
	}
	for id := range wantJobs {
		if !seen[id] {
			t.Errorf("scheduler.json: no job %s", id)
		}
	}
}

// TestSchedulerCommandsInDeployDoc checks that the gcloud commands in
// the README create the jobs scheduler.json declares.
func TestSchedulerCommandsInDeployDoc(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range loadSchedulerJobs(t) {
		id := j.GetName()[strings.LastIndex(j.GetName(), "/")+1:]
		path := wantJobs[id]
		cmd := shellCommand(string(doc), "gcloud scheduler jobs create http "+id+" ")
		if cmd == "" {
			t.Errorf("the README: no `gcloud scheduler jobs create http %s` command", id)
			continue
		}
		for _, flag := range []string{
			`--schedule="` + j.GetSchedule() + `"`,
			`--time-zone=` + j.GetTimeZone(),
			`--uri="${BASE_URL}` + path + `"`,
			`--http-method=POST`,
			`--oidc-service-account-email="${SCHEDULER_SA}"`,
			`--oidc-token-audience="${BASE_URL}` + path + `"`,
			`--attempt-deadline=` + strconv.FormatInt(j.GetAttemptDeadline().GetSeconds(), 10) + "s",
			`--max-retry-attempts=` + strconv.Itoa(int(j.GetRetryConfig().GetRetryCount())),
		} {
			if !strings.Contains(" "+cmd, " "+flag+" ") {
				t.Errorf("the README: the command for %s lacks %s:\n%s", id, flag, cmd)
			}
		}
	}
}

// shellCommand returns the command in doc that starts with prefix, with its
// backslash continuations joined, or "".
func shellCommand(doc, prefix string) string {
	i := strings.Index(doc, prefix)
	if i < 0 {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(doc[i:], "\n") {
		line = strings.TrimSpace(line)
		cont := strings.HasSuffix(line, "\\")
		b.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if !cont {
			break
		}
	}
	return b.String()
}

// TestSchedulerDeadlinesHoldTheTasks: each task's answer must reach Cloud
// Scheduler before the job's attempt deadline, and Cloud Run must let the
// request run that long (the deploy step's --timeout), or the scheduler
// counts a run that is still working as failed (and, with retries, starts
// another on top of it). A task stops after its budget
// (httpapi.TaskBudgets) and answers within httpapi.TaskAnswerSlack.
func TestSchedulerDeadlinesHoldTheTasks(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile(`--timeout=(\d+)\b`).FindStringSubmatch(stepsByID(t, loadBuild(t))["deploy-run"].GetScript())
	if m == nil {
		t.Fatal("deploy-run: no --timeout=SECONDS on gcloud run deploy")
	}
	secs, _ := strconv.Atoi(m[1])
	runTimeout := time.Duration(secs) * time.Second
	for _, j := range loadSchedulerJobs(t) {
		id := j.GetName()[strings.LastIndex(j.GetName(), "/")+1:]
		budget, ok := httpapi.TaskBudgets[wantJobs[id]]
		if !ok {
			t.Errorf("job %s: httpapi.TaskBudgets has no budget for %s", id, wantJobs[id])
			continue
		}
		answered := budget + httpapi.TaskAnswerSlack
		if d := j.GetAttemptDeadline().AsDuration(); d < answered {
			t.Errorf("job %s: attempt deadline %v, but the task may answer after %v (budget %v + slack)", id, d, answered, budget)
		}
		if d := j.GetAttemptDeadline().AsDuration(); d > runTimeout {
			t.Errorf("job %s: attempt deadline %v beyond Cloud Run's request timeout %v: the scheduler would wait for a request Cloud Run has ended", id, d, runTimeout)
		}
	}
}
