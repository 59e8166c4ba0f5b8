package manifests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"cloud.google.com/go/gsuiteaddons/apiv1/gsuiteaddonspb"
	"github.com/google/go-cmp/cmp"
	scripttype "google.golang.org/genproto/googleapis/apps/script/type"
	gmailtype "google.golang.org/genproto/googleapis/apps/script/type/gmail"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

// wantScopes are the deployment's OAuth scopes, each for a feature. Adding
// one is a product decision: it must also be added to the Marketplace SDK's
// App configuration (see the README), and users are asked to consent again.
var wantScopes = []string{
	// Run as a Gmail add-on at all.
	"https://www.googleapis.com/auth/gmail.addons.execute",
	// Read the open message's headers (Message-ID, From, Subject) to find
	// its conversation; no bodies.
	"https://www.googleapis.com/auth/gmail.addons.current.message.metadata",
	// Create the reply draft in the user's mailbox (users.drafts.create)
	// when they press Reply, and open it with openCreatedDraftActionMarkup.
	// Required of every compose trigger: the "Postfach templates" button in
	// the compose window inserts an inbox's template into the draft.
	"https://www.googleapis.com/auth/gmail.addons.current.action.compose",
	// userIdToken in every event: who the user is (sub, email, hd).
	"https://www.googleapis.com/auth/userinfo.email",
	// userLocale and timeZone in every event (with useLocaleFromApp): the
	// cards speak the user's language and show times in their zone.
	"https://www.googleapis.com/auth/script.locale",
}

// wantEndpoints maps each URL field of the deployment to the path under the
// base URL it must name; a URL field not listed here fails the test.
var wantEndpoints = map[string]string{
	"addOns.common.logoUrl":                                PathLogo,
	"addOns.common.homepageTrigger.runFunction":            PathHomepage,
	"addOns.common.universalActions[0].runFunction":        PathSettings,
	"addOns.gmail.contextualTriggers[0].onTriggerFunction": PathMessageOpen,
	"addOns.gmail.composeTrigger.actions[0].runFunction":   PathCompose,
}

// externalLinkPrefixes are the openLinkUrlPrefixes outside the service:
// cards link to the conversation's thread in Gmail.
var externalLinkPrefixes = []string{"https://mail.google.com/"}

// parseDeployment parses a rendered deployment.json into Google's own
// Deployment message; protojson rejects unknown fields and wrong types.
func parseDeployment(b []byte) (*gsuiteaddonspb.Deployment, error) {
	d := new(gsuiteaddonspb.Deployment)
	err := protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(b, d)
	return d, err
}

// stringFields calls visit with the JSON path and value of every string
// set in m, recursively.
func stringFields(m protoreflect.Message, path string, visit func(path, value string)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := strings.TrimPrefix(path+"."+fd.JSONName(), ".")
		one := func(p string, v protoreflect.Value) {
			switch fd.Kind() {
			case protoreflect.StringKind:
				visit(p, v.String())
			case protoreflect.MessageKind, protoreflect.GroupKind:
				stringFields(v.Message(), p, visit)
			}
		}
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				one(fmt.Sprintf("%s[%d]", p, i), v.List().Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				one(fmt.Sprintf("%s[%s]", p, k.String()), v)
				return true
			})
		default:
			one(p, v)
		}
		return true
	})
}

func TestDeploymentStrict(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, base, want string }{
		{"host", "https://postfach.example.com", "https://postfach.example.com"},
		{"path and trailing slash", "https://example.com/pf/", "https://example.com/pf"},
		{"Cloud Run URL", "https://postfach-123456789.europe-west1.run.app", "https://postfach-123456789.europe-west1.run.app"},
		{"loopback", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := Deployment(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			d, err := parseDeployment(b)
			if err != nil {
				t.Fatalf("deployment.json does not parse strictly into gsuiteaddonspb.Deployment: %v", err)
			}

			if diff := cmp.Diff(wantScopes, d.GetOauthScopes()); diff != "" {
				t.Errorf("oauthScopes (-want +got):\n%s", diff)
			}
			endpoints := map[string]string{}
			stringFields(d.ProtoReflect(), "", func(path, v string) {
				switch {
				case strings.Contains(v, "${"):
					t.Errorf("%s = %q: placeholder not rendered", path, v)
				case strings.HasPrefix(path, "oauthScopes["), strings.HasPrefix(path, "addOns.common.openLinkUrlPrefixes."):
					// Checked on their own.
				case strings.Contains(v, "://"):
					if !strings.HasPrefix(v, tc.want+"/") {
						t.Errorf("%s = %q is not under the base %s", path, v, tc.want)
					}
					endpoints[path] = strings.TrimPrefix(v, tc.want)
				}
			})
			if diff := cmp.Diff(wantEndpoints, endpoints); diff != "" {
				t.Errorf("endpoint URLs by field (-want +got):\n%s", diff)
			}
			wantPrefixes := append(append([]string{}, externalLinkPrefixes...), tc.want+PathOAuthPrefix)
			// openLinkUrlPrefixes is a google.protobuf.ListValue: any JSON
			// array parses, so check that it holds strings.
			var prefixes []string
			for _, v := range d.GetAddOns().GetCommon().GetOpenLinkUrlPrefixes().GetValues() {
				s, ok := v.GetKind().(*structpb.Value_StringValue)
				if !ok {
					t.Errorf("openLinkUrlPrefixes holds %v, want strings", v)
					continue
				}
				prefixes = append(prefixes, s.StringValue)
			}
			if diff := cmp.Diff(wantPrefixes, prefixes); diff != "" {
				t.Errorf("openLinkUrlPrefixes (-want +got):\n%s", diff)
			}

			common := d.GetAddOns().GetCommon()
			if common.GetName() != "Postfach" {
				t.Errorf("name = %q", common.GetName())
			}
			if ua := common.GetUniversalActions(); len(ua) != 1 || ua[0].GetLabel() != "Settings" {
				t.Errorf("universal actions = %v, want one labelled Settings", ua)
			}
			if d.GetAddOns().GetGmail() == nil {
				t.Error("addOns.gmail is missing: without it the add-on does not show in Gmail")
			}
			// The compose card chooses the inboxes by the draft's
			// recipients, which Gmail sends only with METADATA access.
			ct := d.GetAddOns().GetGmail().GetComposeTrigger()
			if got := ct.GetDraftAccess(); got != gmailtype.ComposeTrigger_METADATA {
				t.Errorf("composeTrigger.draftAccess = %v, want METADATA", got)
			}
			if a := ct.GetActions(); len(a) != 1 || a[0].GetLabel() == "" {
				t.Errorf("composeTrigger.actions = %v, want one with a label", a)
			}
			if got := d.GetAddOns().GetHttpOptions().GetAuthorizationHeader(); got != scripttype.HttpAuthorizationHeader_SYSTEM_ID_TOKEN {
				t.Errorf("httpOptions.authorizationHeader = %v, want SYSTEM_ID_TOKEN (the server verifies it)", got)
			}
			if d.GetName() != "" || d.GetEtag() != "" {
				t.Error("the manifest sets name or etag; the API assigns them")
			}
		})
	}
}

// TestDeploymentParseIsStrict makes sure the strict parse above would catch
// a field Google's type does not have (such as one seen only in samples) or
// a misspelled one, instead of dropping it.
func TestDeploymentParseIsStrict(t *testing.T) {
	t.Parallel()
	b, err := Deployment("https://postfach.example.com")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
		want   string
	}{
		{"unpublished field", func(doc map[string]any) {
			doc["addOns"].(map[string]any)["httpOptions"].(map[string]any)["granularOauthPermissionSupport"] = "OPT_IN"
		}, "granularOauthPermissionSupport"},
		{"misspelled field", func(doc map[string]any) {
			doc["addOns"].(map[string]any)["common"].(map[string]any)["logoURL"] = "https://postfach.example.com/logo.png"
		}, "logoURL"},
		{"bad enum", func(doc map[string]any) {
			doc["addOns"].(map[string]any)["httpOptions"].(map[string]any)["authorizationHeader"] = "BEARER"
		}, "BEARER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			tc.mutate(doc)
			mutated, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseDeployment(mutated); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parse error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
