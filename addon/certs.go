package addon

import (
	"fmt"
	"net/http"
	"net/url"
)

// GoogleCertsURL is where Google publishes the RS256 keys that sign its ID
// tokens; package idtoken fetches them from there.
const GoogleCertsURL = "https://www.googleapis.com/oauth2/v3/certs"

// CertsClient returns an HTTP client for VerifierConfig.HTTPClient and
// NewIDTokens that fetches Google's signing keys from certsURL instead of
// GoogleCertsURL: a stand-in for Google such as `postfach dev`'s, which
// serves its development trust root's keys. Every other request goes out
// unchanged. certsURL must be an absolute http(s) URL.
func CertsClient(certsURL string) (*http.Client, error) {
	u, err := url.Parse(certsURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("certs URL %q: want an absolute http(s) URL", certsURL)
	}
	return &http.Client{Transport: certsRedirect{to: u, next: http.DefaultTransport}}, nil
}

// certsRedirect is the RoundTripper behind CertsClient.
type certsRedirect struct {
	to   *url.URL
	next http.RoundTripper
}

func (t certsRedirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.String() != GoogleCertsURL {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL = t.to
	r.Host = ""
	return t.next.RoundTrip(r)
}
