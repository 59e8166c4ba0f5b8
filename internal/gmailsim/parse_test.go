package gmailsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestSplitHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		want     header
		wantBody string
	}{
		{name: "CRLF", raw: "A: 1\r\nB: 2\r\n\r\nbody\r\n",
			want: header{{"A", "1"}, {"B", "2"}}, wantBody: "body\r\n"},
		{name: "LF", raw: "A: 1\nB: 2\n\nbody",
			want: header{{"A", "1"}, {"B", "2"}}, wantBody: "body"},
		{name: "Folded", raw: "Subject: one\r\n two\r\n\tthree\r\n\r\n",
			want: header{{"Subject", "one two\tthree"}}},
		{name: "KeepsOrderAndCase", raw: "X-b: 1\r\nmessage-id: <a@b>\r\nX-B: 2\r\n\r\n",
			want: header{{"X-b", "1"}, {"message-id", "<a@b>"}, {"X-B", "2"}}},
		{name: "SpaceBeforeColon", raw: "Subject : hi\r\n\r\n", want: header{{"Subject", "hi"}}},
		{name: "EncodedWord", raw: "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= =?windows-1252?Q?=80?=\r\n\r\n",
			want: header{{"Subject", "Grüße\u0080"}}},
		{name: "NoHeaders", raw: "hello world\r\n", wantBody: "hello world\r\n"},
		{name: "BrokenLineEndsBlock", raw: "A: 1\r\nnot a header\r\nB: 2\r\n",
			want: header{{"A", "1"}}, wantBody: "not a header\r\nB: 2\r\n"},
		{name: "Empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, body := splitHeader([]byte(tc.raw))
			if diff := cmp.Diff(tc.want, h, cmp.AllowUnexported(field{})); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body=%q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestSplitMultipart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string
	}{
		{name: "Simple", body: "pre\r\n--b\r\nA\r\n--b\r\nB\r\n--b--\r\nepi", want: []string{"A", "B"}},
		{name: "LF", body: "--b\nA\n--b\nB\n--b--\n", want: []string{"A", "B"}},
		{name: "TrailingSpace", body: "--b  \r\nA\r\n--b-- \r\n", want: []string{"A"}},
		{name: "Unclosed", body: "--b\r\nA\r\n--b\r\nB", want: []string{"A", "B"}},
		{name: "LongerBoundaryIsContent", body: "--b\r\n--bx\r\n--b--", want: []string{"--bx"}},
		{name: "EmptyPart", body: "--b\r\n--b--", want: []string{""}},
		{name: "NoDelimiter", body: "just text", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range splitMultipart([]byte(tc.body), "b") {
				got = append(got, string(p))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeTransfer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cte, in, want string
	}{
		{name: "QP", cte: "quoted-printable", in: "a=3Db=\r\nc=C3=BC", want: "a=bcü"},
		{name: "QPSoftBreakWithSpace", cte: "Quoted-Printable", in: "a= \r\nb", want: "ab"},
		{name: "QPMalformedKept", cte: "quoted-printable", in: "=ZZ=4", want: "=ZZ=4"},
		{name: "Base64Wrapped", cte: "base64", in: "aGVs\r\nbG8=\r\n", want: "hello"},
		{name: "Base64Unpadded", cte: "BASE64", in: "aGVsbG8", want: "hello"},
		{name: "Base64Junk", cte: "base64", in: "!!aGVs*bG8=", want: "hello"},
		{name: "Base64LoneSextet", cte: "base64", in: "aGVsbG8hZ", want: "hello!"},
		{name: "Identity", cte: "8bit", in: "\xff", want: "\xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := string(decodeTransfer(tc.cte, []byte(tc.in))); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMsgIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{name: "Brackets", in: "<a@x> <b@x>\r\n <c@x>", want: []string{"a@x", "b@x", "c@x"}},
		{name: "Bare", in: "a@x b@x", want: []string{"a@x", "b@x"}},
		{name: "CommentsIgnored", in: "<a@x> (comment) <b@x>", want: []string{"a@x", "b@x"}},
		{name: "Junk", in: "<<>> <a b>", want: nil},
		{name: "Empty", in: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, msgIDs(tc.in)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, want string
	}{
		{name: "Plain", raw: "\r\n  Hello\r\n\r\n  \"world\" & <you>  ", want: "Hello &quot;world&quot; &amp; &lt;you&gt;"},
		{name: "HTML", raw: "Content-Type: text/html\r\n\r\n<style>p{}</style><P>Caf&eacute;</P><br>ok",
			want: "Café ok"},
		{name: "Latin1", raw: "Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9", want: "café"},
		{name: "Long", raw: "\r\n" + strings.Repeat("ab ", 200), want: strings.TrimSpace(strings.Repeat("ab ", 67)[:200])},
		{name: "AttachmentOnly", raw: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nsecret", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := parseMail([]byte(tc.raw)).snippet; got != tc.want {
				t.Errorf("snippet=%q, want %q", got, tc.want)
			}
		})
	}
}

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		q       string
		want    []qToken
		wantErr bool
	}{
		{name: "Mixed", q: ` from:a -label:X  "two words" subject:"re: x" AND word `, want: []qToken{
			{op: "from", value: "a"}, {neg: true, op: "label", value: "X"}, {value: "two words"},
			{op: "subject", value: "re: x"}, {value: "word"},
		}},
		{name: "OperatorCase", q: "RFC822MsgID:<A@B>", want: []qToken{{op: "rfc822msgid", value: "<A@B>"}}},
		{name: "LoneDash", q: "- x", want: []qToken{{value: "-"}, {value: "x"}}},
		{name: "Empty", q: "   "},
		{name: "EmptyValue", q: "from:", wantErr: true},
		{name: "EmptyOperator", q: ":x", wantErr: true},
		{name: "OR", q: "a OR b", wantErr: true},
		{name: "Braces", q: "{a b}", wantErr: true},
		{name: "Unterminated", q: `subject:"x`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tokenize(tc.q)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err=%v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(qToken{})); diff != "" {
				t.Errorf("tokens (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                 string
		first, last, total int64
		wantErr            bool
	}{
		{in: "bytes 0-9/*", first: 0, last: 9, total: -1},
		{in: "bytes 10-19/20", first: 10, last: 19, total: 20},
		{in: "bytes */20", first: 20, last: 19, total: 20},
		{in: "bytes */*", wantErr: true},
		{in: "bytes 5-4/*", wantErr: true},
		{in: "bytes 0-20/20", wantErr: true},
		{in: "items 0-1/2", wantErr: true},
		{in: "bytes -1-2/3", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			first, last, total, err := parseContentRange(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err=%v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && (first != tc.first || last != tc.last || total != tc.total) {
				t.Errorf("got %d-%d/%d, want %d-%d/%d", first, last, total, tc.first, tc.last, tc.total)
			}
		})
	}
}

// FuzzParseMail feeds arbitrary bytes through everything that looks at a
// stored message: parsing, every response format and search.
func FuzzParseMail(f *testing.F) {
	seeds := []string{
		"",
		"Subject: hi\r\n\r\nbody",
		"From: A <a@b>\r\nTo: b@c, \"x, y\" <d@e>\r\nMessage-ID: <m@x>\r\nReferences: <r1@x>\r\n <r2@x>\r\nIn-Reply-To: <r2@x>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\nbody",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n--b\r\nContent-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n",
		"Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: multipart/related; boundary=c\r\n\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--c--\r\n--a--",
		"Subject: =?UTF-8?Q?=E2=82=AC?= =?bogus?B?xx?=\r\n\r\n",
		" cont\r\n\r\n",
		"\xff\xfe: \x00\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	mb := newMailbox("fuzz@example.org")
	q, err := compileQuery(`from:a to:b cc:c deliveredto:d subject:e rfc822msgid:m@x -in:inbox is:unread word "a phrase"`, mb, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		pm := parseMail(raw)
		if !utf8.ValidString(pm.snippet) || !utf8.ValidString(pm.subject) {
			t.Errorf("invalid UTF-8 in snippet %q or subject %q", pm.snippet, pm.subject)
		}
		ids := map[string]bool{}
		var walk func(p *part, depth int)
		walk = func(p *part, depth int) {
			if depth > maxPartDepth+1 {
				t.Fatalf("part tree deeper than %d", maxPartDepth)
			}
			if ids[p.partID] {
				t.Errorf("duplicate partId %q", p.partID)
			}
			ids[p.partID] = true
			for _, f := range p.header {
				if !utf8.ValidString(f.value) {
					t.Errorf("invalid UTF-8 in header %q", f.name)
				}
			}
			for _, c := range p.parts {
				walk(c, depth+1)
			}
		}
		walk(pm.root, 0)
		if len(ids) > maxParts+1 {
			t.Errorf("%d parts, limit %d", len(ids), maxParts)
		}

		m := &message{id: "18c0000000000000", threadID: "18c0000000000000", raw: raw, parsed: pm, labelIDs: []string{LabelInbox}}
		for _, format := range []string{formatMinimal, formatMetadata, formatFull, formatRaw} {
			if _, err := json.Marshal(view(m).render(format, []string{"Subject"})); err != nil {
				t.Errorf("marshal %s: %v", format, err)
			}
		}
		q.match(m)
	})
}

// FuzzQuery checks that any q either compiles or is rejected, never panics.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"", "rfc822msgid:<a@b>", `-label:"x y" from:a`, "after:2024/1/2 newer_than:3d", "a OR b", `"`, "-", ":"} {
		f.Add(s)
	}
	mb := newMailbox("fuzz@example.org")
	m := &message{id: "18c0000000000000", raw: []byte("x"), parsed: parseMail([]byte("From: a@b\r\nSubject: s\r\n\r\nx"))}
	f.Fuzz(func(t *testing.T, q string) {
		s, err := compileQuery(q, mb, time.Now())
		if err != nil {
			return
		}
		s.match(m)
	})
}
