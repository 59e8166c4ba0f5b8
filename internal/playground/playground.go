// Package playground serves the browser playground of `postfach dev`: a
// Gmail-like page over the simulated mailboxes with a sidebar that acts as
// the Google Workspace add-on host. The page is a client like any other: it
// reads mail through the Gmail simulator's REST API, gets the tokens Google
// would send from the dev token endpoint, reads the add-on's trigger URLs
// from the deployment `postfach manifest` prints, and posts the same event
// JSON Google posts. It renders the returned cards with static/cards.js.
//
// The playground exists only in dev mode: it trusts whoever opens it, as
// the dev token endpoint does.
package playground

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/postfach/postfach/internal/i18n"
)

// Paths the playground serves: the page itself and, below Prefix, its
// assets and the deployment it hosts.
const (
	PathPage       = "/"
	Prefix         = "/playground/"
	PathDeployment = Prefix + "deployment.json"
	PathMessages   = Prefix + "messages.js"
)

// messagePrefixes are the catalog ids the page's scripts use: the
// playground's chrome and the card renderer's own words.
var messagePrefixes = []string{"playground.", "renderer."}

// messagesJS is a script that defines window.PostfachMessages: for each
// language, the catalog entries the page's scripts word themselves with.
func messagesJS() ([]byte, error) {
	all := map[i18n.Lang]map[string]any{}
	for _, l := range i18n.Langs {
		m, err := i18n.Messages(l, messagePrefixes...)
		if err != nil {
			return nil, err
		}
		all[l] = m
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	return append(append([]byte("window.PostfachMessages = "), b...), ";\n"...), nil
}

//go:embed static
var static embed.FS

// User is one person the playground can act as.
type User struct {
	Email  string `json:"email"`
	Name   string `json:"name"`
	Tenant string `json:"tenant"` // the Workspace domain
	// TenantName is the organisation's display name.
	TenantName string `json:"tenantName"`
}

// Inbox is a shared address mail can be delivered to from the page.
type Inbox struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// Options configure the playground.
type Options struct {
	// Users are the people to switch between (the demo users of every
	// tenant); the first is the default.
	Users []User
	// Inboxes are the shared addresses the "deliver a customer mail" form
	// offers.
	Inboxes []Inbox
	// Deployment is the add-on deployment the page hosts, exactly as
	// `postfach manifest` prints it for the server's base URL.
	Deployment []byte
}

// page is what the page template is filled with.
type page struct {
	Config template.JS
}

// Handler serves the page at PathPage and everything below Prefix; it
// answers 404 for any other path, so it can be mounted on both.
func Handler(o Options) (http.Handler, error) {
	if len(o.Users) == 0 {
		return nil, errors.New("playground: no users")
	}
	if !json.Valid(o.Deployment) {
		return nil, errors.New("playground: the deployment is not JSON")
	}
	cfg, err := json.Marshal(struct {
		Users   []User  `json:"users"`
		Inboxes []Inbox `json:"inboxes"`
	}{o.Users, o.Inboxes})
	if err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	tmpl, err := template.ParseFS(static, "static/index.html")
	if err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	var buf bytes.Buffer
	// The configuration is JSON, which html/template escapes for the
	// script context it is written into.
	if err := tmpl.Execute(&buf, page{Config: template.JS(cfg)}); err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	index := buf.Bytes()
	assets, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	files := http.FileServerFS(assets)
	deployment := append([]byte(nil), o.Deployment...)
	messages, err := messagesJS()
	if err != nil {
		return nil, fmt.Errorf("playground: messages: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathPage+"{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(index)
	})
	mux.HandleFunc("GET "+PathDeployment, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(deployment)
	})
	mux.HandleFunc("GET "+PathMessages, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(messages)
	})
	mux.HandleFunc("GET "+Prefix+"{file}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		// Only the assets: the page template is served rendered, at /.
		if name == "index.html" || path.Ext(name) == "" || strings.HasPrefix(name, ".") {
			http.NotFound(w, r)
			return
		}
		if _, err := fs.Stat(assets, name); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
	return securityHeaders(mux), nil
}

// securityHeaders keeps the page to its own origin: scripts, styles and
// images from the page's server only, no framing by other sites.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
