package inbox

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplateValidate(t *testing.T) {
	t.Parallel()
	ok := Template{TenantID: "example.com", InboxID: "support", ID: "t1", Name: "Refund", Body: "Hi {{customer.name}}, {{ agent.name }} of {{inbox.name}} ({{conversation.ref}})"}
	tests := []struct {
		name   string
		change func(*Template)
		id     string // the refusal's message id; "" = valid
	}{
		{"every placeholder", func(*Template) {}, ""},
		{"no placeholder", func(tp *Template) { tp.Body = "Thanks!" }, ""},
		{"single braces are text", func(tp *Template) { tp.Body = "{x} } {" }, ""},
		{"unknown placeholder", func(tp *Template) { tp.Body = "Hi {{customer.first_name}}" }, "refusal.template_placeholder"},
		{"empty placeholder", func(tp *Template) { tp.Body = "Hi {{}}" }, "refusal.template_placeholder"},
		{"unclosed", func(tp *Template) { tp.Body = "Hi {{customer.name" }, "refusal.template_unclosed"},
		{"empty body", func(tp *Template) { tp.Body = " \n" }, "refusal.template_empty"},
		{"too long", func(tp *Template) { tp.Body = strings.Repeat("x", MaxTemplateLength+1) }, "refusal.template_too_long"},
		{"not text", func(tp *Template) { tp.Body = "\xff" }, "refusal.template_not_text"},
		{"empty name", func(tp *Template) { tp.Name = "" }, "refusal.template_name"},
		{"long name", func(tp *Template) { tp.Name = strings.Repeat("n", MaxTemplateNameLength+1) }, "refusal.template_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := ok
			tc.change(&tp)
			err := tp.Validate()
			if tc.id == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			r, isRefusal := RefusalOf(err)
			if !errors.Is(err, ErrInvalid) || !isRefusal || r.ID != tc.id {
				t.Fatalf("Validate() = %v, want the refusal %s", err, tc.id)
			}
		})
	}
	t.Run("bad keys", func(t *testing.T) {
		t.Parallel()
		for _, tp := range []Template{
			{TenantID: "example", InboxID: "support", ID: "t1", Name: "n", Body: "b"},
			{TenantID: "example.com", InboxID: "Support", ID: "t1", Name: "n", Body: "b"},
			{TenantID: "example.com", InboxID: "support", ID: "", Name: "n", Body: "b"},
			{TenantID: "example.com", InboxID: "support", ID: "a/b", Name: "n", Body: "b"},
		} {
			if err := tp.Validate(); !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate(%+v) = %v, want ErrInvalid", tp, err)
			}
		}
	})
}

func TestTemplateRender(t *testing.T) {
	t.Parallel()
	v := TemplateValues{CustomerName: "Dana", AgentName: "Bob", InboxName: "Support", ConversationRef: "#3F9A01BC"}
	tests := []struct{ body, want string }{
		{"Hi {{customer.name}},\n\n{{ agent.name }} from {{inbox.name}} ({{conversation.ref}})", "Hi Dana,\n\nBob from Support (#3F9A01BC)"},
		{"{{agent.name}}{{agent.name}}", "BobBob"},
		{"plain", "plain"},
		{"{{customer.name}} {x}", "Dana {x}"},
	}
	for _, tc := range tests {
		if got := (Template{Body: tc.body}).Render(v); got != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	if got := (Template{Body: "Hi {{customer.name}}"}).Render(TemplateValues{}); got != "Hi " {
		t.Errorf("Render with no values = %q, want %q", got, "Hi ")
	}
}

func TestConversationRef(t *testing.T) {
	t.Parallel()
	c := Conversation{ID: ConversationID("support", "root@mail.example")}
	got := ConversationRef(c)
	if len(got) != 9 || got[0] != '#' || strings.ToUpper(got) != got || !strings.HasPrefix(strings.ToLower(got[1:]), c.ID[1:9]) {
		t.Errorf("ConversationRef(%s) = %q", c.ID, got)
	}
	if ConversationRef(Conversation{}) != "" {
		t.Error("ConversationRef of no conversation is not empty")
	}
}
