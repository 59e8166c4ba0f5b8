package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postfach/postfach/addon/addontest"
	"github.com/postfach/postfach/internal/gmailsim"
	"github.com/postfach/postfach/internal/mailboxauth"
	"github.com/postfach/postfach/internal/mailboxauth/oauthsim"
)

// Identities the run plays Google with.
const (
	addonServiceAccount     = "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
	oauthClientID           = "postfach-chaos.apps.googleusercontent.com"
	delegationAccount       = "postfach-sync@postfach-chaos.iam.gserviceaccount.com"
	pushServiceAccount      = "gmail-push@postfach-chaos.iam.gserviceaccount.com"
	schedulerServiceAccount = "scheduler@postfach-chaos.iam.gserviceaccount.com"
	certsPath               = "/oauth2/v3/certs"
	googlePrefix            = "/google"
	userScope               = "https://www.googleapis.com/auth/gmail.addons.execute"
)

// world is Google played on a loopback port: Gmail (the simulator, failing
// at random while faults are on), OAuth's token endpoint with domain-wide
// delegation, and the keys that sign Google's ID tokens.
type world struct {
	root          *addontest.TrustRoot
	google        *oauthsim.Server
	sim           *gmailsim.Server
	delegationKey []byte
	url           string
	srv           *http.Server

	faultRate float64
	faulting  atomic.Bool
	injected  atomic.Int64
	rmu       sync.Mutex
	rng       *rand.Rand
}

// newWorld starts Google's stand-ins; notify receives Gmail's
// notifications (they go to Pub/Sub).
func newWorld(seed uint64, faultRate float64, notify func(gmailsim.Notification), log *slog.Logger) (*world, error) {
	root, err := addontest.NewTrustRoot()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	w := &world{root: root, url: "http://" + l.Addr().String(), faultRate: faultRate, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
	w.google = oauthsim.New(oauthsim.Options{ClientID: "unused", ClientSecret: "unused"})
	if w.delegationKey, err = w.google.ServiceAccountKey(delegationAccount, w.url+googlePrefix+oauthsim.PathToken); err != nil {
		l.Close()
		return nil, err
	}
	w.google.GrantDelegation(delegationAccount, mailboxauth.Scopes...)
	w.sim = gmailsim.New(gmailsim.Options{
		Authenticate: w.google.AuthenticateWith(root.VerifyAccessToken),
		Notify:       notify,
		// Gmail's per-user quota and its one notification a second.
		QuotaPerSecond:    250,
		NotifyMinInterval: time.Second,
		Faults:            w.fault,
		Logger:            log.With("component", "gmailsim"),
	})
	mux := http.NewServeMux()
	mux.Handle("/gmail/v1/", w.sim.Handler())
	mux.Handle("/upload/gmail/v1/", w.sim.Handler())
	jwks := root.JWKS()
	google := http.NewServeMux()
	google.HandleFunc("GET "+certsPath, func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		rw.Write(jwks)
	})
	google.Handle("/", w.google.Handler())
	mux.Handle(googlePrefix+"/", http.StripPrefix(googlePrefix, google))
	w.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go w.srv.Serve(l)
	return w, nil
}

// fault is gmailsim's Options.Faults: while faults are on, a call fails
// with Gmail's 429 or 500 at faultRate.
func (w *world) fault(_, _ string) (gmailsim.Fault, bool) {
	if !w.faulting.Load() {
		return gmailsim.Fault{}, false
	}
	w.rmu.Lock()
	hit, rateLimited := w.rng.Float64() < w.faultRate, w.rng.IntN(2) == 0
	w.rmu.Unlock()
	if !hit {
		return gmailsim.Fault{}, false
	}
	w.injected.Add(1)
	if rateLimited {
		return gmailsim.FaultRateLimited, true
	}
	return gmailsim.FaultBackendError, true
}

func (w *world) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	w.srv.Shutdown(ctx)
}

// notificationData is what Gmail publishes to the topic of a watch.
func notificationData(n gmailsim.Notification) []byte {
	b, _ := json.Marshal(struct {
		EmailAddress string `json:"emailAddress"`
		HistoryID    uint64 `json:"historyId,string"`
	}{n.EmailAddress, n.HistoryID})
	return b
}
