package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postfach/postfach/internal/chaos"
	"github.com/postfach/postfach/internal/cloudlog"
	"github.com/postfach/postfach/internal/inbox"
)

// errChaosDiffs marks a chaos run whose oracle found differences.
var errChaosDiffs = fmt.Errorf("chaos: the oracle found differences")

func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("chaos", "", "Prove that the Gmail push sync loses nothing when every fault happens at once. "+
		"On this machine only (loopback): a `postfach serve` child process of this binary syncs members' mailboxes of three "+
		"shared inboxes from the Gmail simulator, through Google's Pub/Sub emulator and a relay that drops, duplicates and "+
		"reorders pushes, while Gmail fails calls with 429 and 500, one mailbox's history expires, teammates act on "+
		"conversations through signed add-on requests and the child is killed (SIGKILL) and restarted. Then the faults stop "+
		"and an oracle compares the store and Gmail's labels with what was delivered and done. Prints the figures; exits "+
		"non-zero on any difference.",
		[]setting{
			{"PUBSUB_EMULATOR_HOST", "required: host:port of Google's Pub/Sub emulator (gcloud beta emulators pubsub start)", false},
			{"FIRESTORE_EMULATOR_HOST", "the Firestore emulator, for --store firestore", false},
		}, stdout)
	o := chaos.Options{}
	var data string
	var asJSON bool
	fs.StringVar(&o.Store, "store", "sqlite", "sqlite, or firestore (Google's emulator: set FIRESTORE_EMULATOR_HOST)")
	fs.StringVar(&data, "data", "", "directory of the SQLite database and the child's log (default: a temporary one, removed after a clean run)")
	fs.IntVar(&o.Deliveries, "deliveries", 10000, "mails delivered during the storm (1-100000)")
	fs.Float64Var(&o.Rate, "rate", 40, "deliveries per second")
	fs.Float64Var(&o.ActionRate, "action-rate", 4, "teammate actions per second")
	fs.IntVar(&o.Crashes, "crashes", 10, "times the sync process is killed and restarted")
	fs.Float64Var(&o.DropRate, "drop", 0.05, "share of pushes dropped")
	fs.Float64Var(&o.DupRate, "duplicate", 0.30, "share of pushes delivered twice")
	fs.Float64Var(&o.FaultRate, "gmail-faults", 0.05, "share of Gmail calls failing with 429 or 500")
	fs.DurationVar(&o.Converge, "converge", 5*time.Minute, "how long the system may take to catch up after the faults stop")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", 15*time.Second, "the child's POSTFACH_SYNC_LEASE_TTL: how long a killed child's mailboxes stay leased")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	fs.BoolVar(&asJSON, "json", false, "print the figures as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.Seed = *seed
	switch {
	case o.Store != "sqlite" && o.Store != "firestore":
		return fmt.Errorf("%w: chaos: --store %q: want sqlite or firestore", errUsage, o.Store)
	case o.Deliveries < 1 || o.Deliveries > 100000:
		return fmt.Errorf("%w: chaos: --deliveries must be 1-100000", errUsage)
	case o.Rate <= 0 || o.Rate > 1000 || o.ActionRate < 0 || o.ActionRate > 100:
		return fmt.Errorf("%w: chaos: --rate must be in (0, 1000], --action-rate in [0, 100]", errUsage)
	case o.Crashes < 0 || o.Crashes > 1000:
		return fmt.Errorf("%w: chaos: --crashes must be 0-1000", errUsage)
	case o.DropRate < 0 || o.DropRate >= 1 || o.DupRate < 0 || o.DupRate > 1 || o.FaultRate < 0 || o.FaultRate >= 1:
		return fmt.Errorf("%w: chaos: --drop and --gmail-faults must be in [0, 1), --duplicate in [0, 1]", errUsage)
	case o.Converge <= 0 || o.Converge > time.Hour:
		return fmt.Errorf("%w: chaos: --converge must be in (0, 1h]", errUsage)
	case o.LeaseTTL < 10*time.Second:
		return fmt.Errorf("%w: chaos: --lease-ttl must be at least 10s", errUsage)
	case getenv("PUBSUB_EMULATOR_HOST") == "":
		return fmt.Errorf("%w: chaos runs against Google's Pub/Sub emulator: start it (gcloud beta emulators pubsub start --host-port=127.0.0.1:PORT) and set PUBSUB_EMULATOR_HOST", errUsage)
	case o.Store == "firestore" && getenv("FIRESTORE_EMULATOR_HOST") == "":
		return fmt.Errorf("%w: chaos --store firestore runs against the emulator only: set FIRESTORE_EMULATOR_HOST", errUsage)
	}
	for _, h := range []string{getenv("PUBSUB_EMULATOR_HOST"), getenv("FIRESTORE_EMULATOR_HOST")} {
		if h != "" && !loopbackHost(h) {
			return fmt.Errorf("%w: chaos runs on loopback only: emulator %q", errUsage, h)
		}
	}
	keep := data != ""
	if data == "" {
		dir, err := os.MkdirTemp("", "postfach-chaos-")
		if err != nil {
			return err
		}
		data = dir
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("chaos: find this binary: %w", err)
	}
	run := strconv.FormatUint(o.Seed%1_000_000_007, 36) + strconv.FormatInt(time.Now().Unix()%1_000_000, 36)
	sc := storeConfig{Kind: o.Store, EmulatorHost: getenv("FIRESTORE_EMULATOR_HOST")}
	storeEnv := []string{"POSTFACH_STORE=" + o.Store}
	switch o.Store {
	case "sqlite":
		sc.SQLitePath = filepath.Join(data, "chaos-"+run+".db")
		storeEnv = append(storeEnv, "POSTFACH_SQLITE_PATH="+sc.SQLitePath)
	case "firestore":
		// A project of its own: the emulator keeps every run apart.
		sc.ProjectID = "postfach-chaos-" + run
		storeEnv = append(storeEnv, "POSTFACH_FIRESTORE_PROJECT="+sc.ProjectID, "FIRESTORE_EMULATOR_HOST="+sc.EmulatorHost)
	}
	o.Project = "postfach-chaos-" + run
	childLog, err := os.Create(filepath.Join(data, "chaos-"+run+"-serve.log"))
	if err != nil {
		return err
	}
	defer childLog.Close()
	o.ChildLog = childLog
	o.Open = func(ctx context.Context) (inbox.Store, func() error, error) { return openStore(ctx, sc) }
	o.Serve = func(env []string) *exec.Cmd {
		cmd := exec.Command(exe, "serve")
		cmd.Env = append(append([]string{"PATH=" + getenv("PATH"), "HOME=" + getenv("HOME"), "TMPDIR=" + os.TempDir()}, storeEnv...), env...)
		return cmd
	}
	o.Progress = stderr
	o.Log = cloudlog.New(stderr, slog.LevelWarn)
	res, err := chaos.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("chaos: %w (the child's log: %s)", err, childLog.Name())
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printChaos(stdout, res)
	}
	if len(res.Diffs) > 0 || !res.Converged {
		return fmt.Errorf("%w: %d, not converged within %s (data and the child's log kept in %s)", errChaosDiffs, len(res.Diffs), o.Converge, data)
	}
	if !keep {
		childLog.Close()
		os.RemoveAll(data)
	}
	return nil
}

func loopbackHost(hostport string) bool {
	host := hostport
	if i := strings.LastIndex(hostport, ":"); i >= 0 {
		host = strings.Trim(hostport[:i], "[]")
	}
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func printChaos(w io.Writer, r chaos.Result) {
	fmt.Fprintf(w, "chaos run on %s: %d mails, %d inbox deliveries (%d mailbox copies, %d threads) to %d inboxes in %d mailboxes\n",
		r.Store, r.Mails, r.Deliveries, r.Copies, r.Threads, r.Inboxes, r.Mailboxes)
	fmt.Fprintf(w, "  storm %.1fs, converged %.1fs after it (%v); %.1f deliveries/s end to end\n", r.StormSeconds, r.ConvergeSeconds, r.Converged, r.Throughput)
	fmt.Fprintf(w, "  gmail: %d calls, %d quota units, %d faults injected (429/500); %d history expiry\n", r.GmailCalls, r.QuotaUnits, r.GmailFaults, r.HistoryExpiries)
	fmt.Fprintf(w, "  pub/sub: %d notifications published, %d pushes received from the emulator (%d redeliveries, %d with a token), %d dropped, %d doubled, %d nacked\n",
		r.Published, r.Pushes, r.Redeliveries, r.PushesWithToken, r.PushesDropped, r.PushesDuplicated, r.Nacks)
	fmt.Fprintf(w, "  sync process killed and restarted %d times\n", r.Crashes)
	fmt.Fprintf(w, "  teammates: %d actions, %d accepted, %d refused (changed meanwhile), %d unanswered (crash)\n", r.Actions, r.Accepted, r.Refused, r.Unanswered)
	if len(r.Diffs) == 0 {
		fmt.Fprintln(w, "  oracle: 0 lost messages, 0 duplicate conversations, every action kept, every label equal to the state, counters equal to a recount")
		return
	}
	fmt.Fprintf(w, "  oracle: %d differences\n", len(r.Diffs))
	for i, d := range r.Diffs {
		if i == 50 {
			fmt.Fprintf(w, "    … %d more\n", len(r.Diffs)-50)
			break
		}
		fmt.Fprintf(w, "    %s\n", d)
	}
}
