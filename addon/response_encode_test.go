package addon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/labstack/echo/v4"
	"google.golang.org/protobuf/proto"
)

// TestResponseJSONEncodesOnce checks that JSON writes every card and link
// exactly as protojson encoded it (no second pass through encoding/json,
// which would re-escape "<" in card text and strip protojson's spacing),
// and that the result is the golden document.
func TestResponseJSONEncodesOnce(t *testing.T) {
	t.Parallel()
	sawHTML := false
	for _, tc := range responseCases() {
		var ra RenderActions
		switch r := tc.resp.(type) {
		case RenderActions:
			ra = r
		case SubmitFormResponse:
			ra = r.RenderActions
		default:
			continue // no cards: ScopesRequest
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.resp.(interface{ JSON() ([]byte, error) }).JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("JSON() is not valid JSON:\n%s", got)
			}
			want, err := os.ReadFile(filepath.Join("testdata", tc.name+".golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := semanticDiff(t, want, got); diff != "" {
				t.Errorf("JSON() (-golden +got):\n%s", diff)
			}
			cards, link := cardsOf(ra)
			var msgs []proto.Message
			for _, c := range cards {
				msgs = append(msgs, c)
			}
			if link != nil {
				msgs = append(msgs, link)
			}
			for _, m := range msgs {
				enc, err := protoMarshal.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(got, enc) {
					t.Errorf("JSON() does not carry protojson's encoding verbatim:\nprotojson: %s\nresponse:  %s", enc, got)
				}
			}
		})
		if bytes.Contains(mustProto(t, ra), []byte("<")) {
			sawHTML = true
		}
	}
	if !sawHTML {
		t.Error("no case has HTML in a card: the test would not see a second encoding")
	}
}

func mustProto(t *testing.T, r RenderActions) []byte {
	t.Helper()
	var out []byte
	cards, _ := cardsOf(r)
	for _, c := range cards {
		b, err := protoMarshal.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// BenchmarkEncodeResponse encodes the homepage and conversation-sized card
// responses the way handlers send them: JSON (one pass, written with
// JSONBlob) and, for comparison, echo's c.JSON (encoding/json over the
// MarshalJSON methods).
func BenchmarkEncodeResponse(b *testing.B) {
	e := echo.New()
	for _, bc := range []struct {
		name string
		resp interface{ JSON() ([]byte, error) }
	}{
		{"PushHomepage", PushCard(homepageCard())},
		{"UpdateTicketForm", UpdateCard(ticketFormCard(), "Saved")},
	} {
		b.Run(bc.name+"/JSON", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), rec)
				out, err := bc.resp.JSON()
				if err != nil {
					b.Fatal(err)
				}
				if err := c.JSONBlob(http.StatusOK, out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/EchoJSON", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), rec)
				if err := c.JSON(http.StatusOK, bc.resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
