package playground

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/postfach/postfach/addon"
	"github.com/postfach/postfach/internal/playground/browsertest"
)

// rendererPage starts a browser and opens testdata/render.html, which loads
// the catalogs' messages, static/cards.js and cards.css and defines
// show(card) and window.calls.
// Both directories are served by the test itself, so it needs nothing but
// the files.
func rendererPage(t *testing.T) (*browsertest.Browser, context.Context) {
	t.Helper()
	mux := http.NewServeMux()
	messages, err := messagesJS()
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/static/messages.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(messages)
	})
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir("static"))))
	mux.Handle("/testdata/", http.StripPrefix("/testdata/", http.FileServer(http.Dir("testdata"))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	ctx := b.Context()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/testdata/render.html")); err != nil {
		t.Fatalf("open render page: %v", err)
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof PostfachCards === "object" && typeof show === "function"`)); err != nil || !ok {
		t.Fatalf("cards.js not loaded: %v, %v", ok, err)
	}
	t.Cleanup(func() {
		if errs := b.Errors(); len(errs) > 0 {
			t.Errorf("page errors:\n%s", strings.Join(errs, "\n"))
		}
	})
	return b, ctx
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func show(t *testing.T, ctx context.Context, card json.RawMessage) {
	t.Helper()
	eval[bool](t, ctx, "show("+string(card)+")")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cardsIn returns the cards in a golden file: the file itself when it is a
// card, else every pushCard and updateCard of its RenderActions.
func cardsIn(v any) []map[string]any {
	var out []map[string]any
	var walk func(v any, top bool)
	walk = func(v any, top bool) {
		switch v := v.(type) {
		case map[string]any:
			if top && (v["sections"] != nil || v["header"] != nil) {
				out = append(out, v)
				return
			}
			for k, x := range v {
				if c, ok := x.(map[string]any); ok && (k == "pushCard" || k == "updateCard") {
					out = append(out, c)
					continue
				}
				walk(x, false)
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	walk(v, true)
	return out
}

// buttonTexts lists the texts of a card's buttons (button lists, decorated
// text buttons, the fixed footer), not those of cards nested in onClick.
func buttonTexts(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "card":
					continue
				case "buttons":
					for _, b := range x.([]any) {
						if s, _ := b.(map[string]any)["text"].(string); s != "" {
							out = append(out, s)
						}
					}
				case "button", "primaryButton", "secondaryButton":
					if s, _ := x.(map[string]any)["text"].(string); s != "" {
						out = append(out, s)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

type renderedCard struct {
	Title       string   `json:"title"`
	Buttons     []string `json:"buttons"`
	Unsupported []string `json:"unsupported"`
	Widgets     []string `json:"widgets"`
}

const readCard = `(() => {
  const c = document.querySelector('#host .pf-card');
  const t = c.querySelector('.pf-header[data-pf=header] .pf-header-title');
  return {
    title: t ? t.textContent : '',
    buttons: [...c.querySelectorAll('button')].map(` + buttonText + `),
    unsupported: [...c.querySelectorAll('.pf-unsupported')].map(u => u.getAttribute('data-unsupported')),
    widgets: [...c.querySelectorAll('[data-widget]')].map(w => w.getAttribute('data-widget')),
  };
})()`

// TestRenderGoldens renders every golden card the server produces: no page
// error, no placeholder, and the header title and every button text shown.
func TestRenderGoldens(t *testing.T) {
	b, ctx := rendererPage(t)
	for _, dir := range []string{"../cards/testdata", "../../addon/testdata"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, f := range files {
			var v any
			if err := json.Unmarshal(mustRead(t, f), &v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for i, card := range cardsIn(v) {
				found++
				t.Run(fmt.Sprintf("%s/%s#%d", filepath.Base(dir), filepath.Base(f), i), func(t *testing.T) {
					raw, _ := json.Marshal(card)
					show(t, ctx, raw)
					got := eval[renderedCard](t, ctx, readCard)
					if len(got.Unsupported) > 0 {
						t.Errorf("placeholders %q", got.Unsupported)
					}
					if h, _ := card["header"].(map[string]any); h != nil {
						if want, _ := h["title"].(string); got.Title != want {
							t.Errorf("title %q, want %q", got.Title, want)
						}
					}
					for _, want := range buttonTexts(card) {
						if !slices.Contains(got.Buttons, want) {
							t.Errorf("no button %q among %q", want, got.Buttons)
						}
					}
					if errs := b.Errors(); len(errs) > 0 {
						t.Fatalf("page errors: %q", errs)
					}
				})
			}
		}
		if found == 0 {
			t.Errorf("no cards found in %s", dir)
		}
	}
}

// clickAt marks the element the JavaScript expression find returns, scrolls
// it to the middle of the sidebar (clear of the sticky footer) and clicks it
// with the mouse, as a user would.
func clickAt(t *testing.T, ctx context.Context, what, find string) {
	t.Helper()
	ok := eval[bool](t, ctx, `(() => {
		document.querySelectorAll('[data-test-click]').forEach(e => e.removeAttribute('data-test-click'));
		const e = (`+find+`);
		if (!e) return false;
		e.scrollIntoView({block: 'center'});
		e.setAttribute('data-test-click', '');
		return true;
	})()`)
	if !ok {
		t.Fatalf("click %s: not found", what)
	}
	// Bound the wait for the element, so a broken page fails the test
	// instead of hanging it; this is not a timing assertion.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(cctx, chromedp.Click(chromedp.CSS("[data-test-click]"))); err != nil {
		t.Fatalf("click %s: %v", what, err)
	}
}

// buttonText is the visible label of a button in the page: its text without
// decorative glyphs (icons and chevrons are aria-hidden).
const buttonText = `(b => { const c = b.cloneNode(true); c.querySelectorAll('[aria-hidden=true]').forEach(x => x.remove()); return c.textContent.trim(); })`

func clickButton(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	q, _ := json.Marshal(text)
	clickAt(t, ctx, "button "+string(q), `[...document.querySelectorAll('#host button')].find(b => `+buttonText+`(b) === `+string(q)+`)`)
}

func click(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	q, _ := json.Marshal("#host " + css)
	clickAt(t, ctx, css, `document.querySelector(`+string(q)+`)`)
}

type call struct {
	Kind       string         `json:"kind"`
	Arg        map[string]any `json:"arg"`
	FormInputs map[string]any `json:"formInputs"`
}

func calls(t *testing.T, ctx context.Context) []call {
	t.Helper()
	return eval[[]call](t, ctx, `window.calls`)
}

// TestKitchenSink renders a card with every widget and variant cards.js
// supports, checks each is drawn, that what it cannot draw shows a
// placeholder naming it, and that every kind of onClick reaches the host.
func TestKitchenSink(t *testing.T) {
	_, ctx := rendererPage(t)
	card := json.RawMessage(mustRead(t, "testdata/kitchen_sink.json"))
	show(t, ctx, card)

	t.Run("widgets", func(t *testing.T) {
		got := eval[renderedCard](t, ctx, readCard)
		count := map[string]int{}
		for _, w := range got.Widgets {
			count[w]++
		}
		want := map[string]int{
			"textParagraph": 5, "decoratedText": 9, "buttonList": 2, "textInput": 3, "selectionInput": 5,
			"dateTimePicker": 3, "divider": 1, "image": 1, "grid": 1, "columns": 1, "chipList": 1,
			"carousel": 1, "fancyNewWidget": 1,
		}
		if d := cmp.Diff(want, count); d != "" {
			t.Errorf("data-widget counts (-want +got):\n%s", d)
		}
		wantUnsupported := []string{"widget: carousel", "widget: fancyNewWidget", "field: sections[4].widgets[2].textParagraph.sparkle"}
		if d := cmp.Diff(wantUnsupported, got.Unsupported); d != "" {
			t.Errorf("placeholders (-want +got):\n%s", d)
		}
		if got.Title != "Kitchen sink" {
			t.Errorf("title %q", got.Title)
		}
		for _, want := range []string{"Text button", "Filled", "Outlined", "Borderless", "Tonal", "Red", "Disabled", "Open", "Save", "Cancel", "Column button", "Chip one", "Show more"} {
			if !slices.Contains(got.Buttons, want) {
				t.Errorf("no button %q among %q", want, got.Buttons)
			}
		}
	})

	t.Run("details", func(t *testing.T) {
		checks := []struct{ name, expr string }{
			{"circle header image", `!!document.querySelector('.pf-header-image.pf-circle')`},
			{"peek header kept for the host, hidden", `document.querySelector('.pf-peek-header .pf-header-title').textContent === 'Peek title' && document.querySelector('.pf-peek-header').offsetParent === null`},
			{"section header formatted", `document.querySelector('.pf-section-header b').textContent === 'and'`},
			{"known icon glyph", `document.querySelector('[data-icon=EMAIL]').textContent === '\u2709'`},
			{"material icon glyph", `!!document.querySelector('[data-icon=settings]')`},
			{"icon url", `!!document.querySelector('.pf-icon-circle img.pf-icon-img')`},
			{"top and bottom labels", `document.querySelector('.pf-top-label').textContent === 'Top label' && document.querySelector('.pf-bottom-label').textContent === 'Bottom label'`},
			{"new-style labels", `[...document.querySelectorAll('.pf-decorated-main b')].some(b => b.textContent === 'content')`},
			{"switch control", `document.querySelector('input[name=notify]').getAttribute('role') === 'switch'`},
			{"checkbox control", `document.querySelector('input[name=agree]').className === 'pf-checkbox' && document.querySelector('input[name=agree]').checked`},
			{"filled button", `[...document.querySelectorAll('.pf-button-filled')].some(b => b.textContent === 'Filled')`},
			{"outlined button", `!!document.querySelector('.pf-button-outlined')`},
			{"colored button", `[...document.querySelectorAll('button')].find(b => b.textContent === 'Red').style.backgroundColor === 'rgb(217, 48, 38)'`},
			{"disabled button", `[...document.querySelectorAll('button')].find(b => b.textContent === 'Disabled').disabled`},
			{"icon button", `document.querySelector('.pf-button-icon').getAttribute('aria-label') === 'Star it'`},
			{"multi-line input", `document.querySelector('textarea[name=note]') !== null`},
			{"text value", `document.querySelector('input[name=subject]').value === 'Hello'`},
			{"character counter", `document.querySelector('.pf-counter').textContent === '5/20'`},
			{"suggestions", `document.querySelectorAll('datalist option').length === 2`},
			{"dropdown selected", `document.querySelector('select[name=status]').value === 'pending'`},
			{"radio selected", `document.querySelector('input[name=priority]:checked').value === 'high'`},
			{"date-time in its offset", `document.querySelector('input[name=followUp]').value === '2026-01-01T10:00'`},
			{"date only", `document.querySelector('input[name=due]').value === '2026-01-01'`},
			{"grid columns", `getComputedStyle(document.querySelector('.pf-grid')).gridTemplateColumns.split(' ').length === 3`},
			{"grid text above", `document.querySelector('[data-id=b]').firstElementChild.className === 'pf-grid-text'`},
			{"columns", `document.querySelectorAll('.pf-column').length === 2`},
			{"footer", `[...document.querySelectorAll('.pf-footer button')].map(b => b.textContent).join() === 'Cancel,Save'`},
			{"card actions menu button", `!!document.querySelector('.pf-header [data-pf=cardActions]')`},
			{"centred widget", `document.querySelector('[data-align=CENTER]').textContent === 'Centred'`},
		}
		for _, c := range checks {
			if !eval[bool](t, ctx, c.expr) {
				t.Errorf("%s: %s is false", c.name, c.expr)
			}
		}
	})

	t.Run("collapsible section", func(t *testing.T) {
		hidden := `document.querySelector('input[name=followUp]').offsetParent === null`
		if !eval[bool](t, ctx, hidden) {
			t.Fatal("widgets past uncollapsibleWidgetsCount are visible before expanding")
		}
		if eval[bool](t, ctx, `document.querySelector('input[name=subject]').offsetParent === null`) {
			t.Fatal("uncollapsible widget hidden")
		}
		click(t, ctx, "[data-pf=sectionToggle]")
		if eval[bool](t, ctx, hidden) {
			t.Fatal("still hidden after Show more")
		}
		click(t, ctx, "[data-pf=sectionToggle]")
		if !eval[bool](t, ctx, hidden) {
			t.Fatal("visible after Show less")
		}
	})

	t.Run("form inputs of initial values", func(t *testing.T) {
		got := eval[map[string]any](t, ctx, `PostfachCards.formInputs(document.querySelector('#host .pf-card'))`)
		want := map[string]any{
			"subject":  map[string]any{"stringInputs": map[string]any{"value": []any{"Hello"}}},
			"status":   map[string]any{"stringInputs": map[string]any{"value": []any{"pending"}}},
			"priority": map[string]any{"stringInputs": map[string]any{"value": []any{"high"}}},
			"tags":     map[string]any{"stringInputs": map[string]any{"value": []any{"vip"}}},
			"agree":    map[string]any{"stringInputs": map[string]any{"value": []any{"ok"}}},
			"followUp": map[string]any{"dateTimeInput": map[string]any{"msSinceEpoch": 1767258000000.0, "hasDate": true, "hasTime": true}},
			"due":      map[string]any{"dateInput": map[string]any{"msSinceEpoch": 1767225600000.0}},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("formInputs (-want +got):\n%s", d)
		}
	})

	action := func(fn string) map[string]any { return map[string]any{"function": fn} }
	for _, tc := range []struct {
		name  string
		do    func(t *testing.T)
		want  call
		spins bool
	}{
		{name: "text button", do: func(t *testing.T) { clickButton(t, ctx, "Text button") },
			want: call{Kind: "action", Arg: action("https://addon.example/text")}, spins: true},
		{name: "no spinner", do: func(t *testing.T) { clickButton(t, ctx, "No spinner") },
			want: call{Kind: "action", Arg: map[string]any{"function": "https://addon.example/quiet", "loadIndicator": "NONE"}}},
		{name: "open link", do: func(t *testing.T) { clickButton(t, ctx, "Open") },
			want: call{Kind: "openLink", Arg: map[string]any{"url": "https://mail.example/", "openAs": "OVERLAY", "onClose": "RELOAD"}}},
		{name: "push card", do: func(t *testing.T) { clickButton(t, ctx, "Push card") },
			want: call{Kind: "card", Arg: map[string]any{"header": map[string]any{"title": "Pushed"}, "sections": []any{map[string]any{"widgets": []any{map[string]any{"textParagraph": map[string]any{"text": "hi"}}}}}}}},
		{name: "dynamic link", do: func(t *testing.T) { clickButton(t, ctx, "Dynamic link") },
			want: call{Kind: "dynamicLink", Arg: action("https://addon.example/link")}, spins: true},
		{name: "overflow menu", do: func(t *testing.T) { clickButton(t, ctx, "More"); clickButton(t, ctx, "First item") },
			want: call{Kind: "action", Arg: action("https://addon.example/first")}, spins: true},
		{name: "card action", do: func(t *testing.T) { click(t, ctx, "[data-pf=cardActions]"); clickButton(t, ctx, "Refresh") },
			want: call{Kind: "action", Arg: action("https://addon.example/refresh")}, spins: true},
		{name: "row", do: func(t *testing.T) { click(t, ctx, ".pf-decorated.pf-clickable") },
			want: call{Kind: "action", Arg: map[string]any{"function": "https://addon.example/row", "parameters": []any{map[string]any{"key": "id", "value": "7"}}}}, spins: true},
		{name: "grid item", do: func(t *testing.T) { click(t, ctx, "[data-id=c]") },
			want: call{Kind: "action", Arg: map[string]any{"function": "https://addon.example/grid", "parameters": []any{map[string]any{"key": "grid_item_identifier", "value": "c"}}}}, spins: true},
		{name: "chip", do: func(t *testing.T) { clickButton(t, ctx, "Chip one") },
			want: call{Kind: "action", Arg: action("https://addon.example/chip")}, spins: true},
		{name: "footer", do: func(t *testing.T) { clickButton(t, ctx, "Save") },
			want: call{Kind: "action", Arg: action("https://addon.example/save")}, spins: true},
		{name: "disabled button does nothing", do: func(t *testing.T) {
			eval[bool](t, ctx, `[...document.querySelectorAll('button')].find(b => b.textContent === 'Disabled').click(), true`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			show(t, ctx, card)
			tc.do(t)
			got := calls(t, ctx)
			var want []call
			if tc.want.Kind != "" {
				want = []call{tc.want}
				if tc.want.Kind == "action" || tc.want.Kind == "dynamicLink" {
					// The initial values of the kitchen sink's inputs.
					want[0].FormInputs = eval[map[string]any](t, ctx, `PostfachCards.formInputs(document.querySelector('#host .pf-card'))`)
				}
			}
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
			if spins := eval[bool](t, ctx, `!!document.querySelector('#host [data-pf=spinner]')`); spins != tc.spins {
				t.Errorf("spinner shown = %v, want %v", spins, tc.spins)
			}
		})
	}
}

func setValue(t *testing.T, ctx context.Context, name, value string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector('#host [name=%s]'); e.value = %q;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, name, value))
}

func typeInto(t *testing.T, ctx context.Context, name, text string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#host [name="+name+"]"), text)); err != nil {
		t.Fatalf("type into %s: %v", name, err)
	}
}

// TestFormInputs fills every kind of input as a user would and checks the
// host receives the action and the form inputs exactly in Google's shape,
// and that the Go side of the protocol (addon.FormInput) reads them.
func TestFormInputs(t *testing.T) {
	_, ctx := rendererPage(t)
	show(t, ctx, mustRead(t, "testdata/form.json"))

	typeInto(t, ctx, "subject", "Refund")
	typeInto(t, ctx, "note", "Two lines\nhere")
	setValue(t, ctx, "status", "pending")
	click(t, ctx, "input[name=priority][value=high]")
	click(t, ctx, "input[name=tags][value=billing]")
	click(t, ctx, "input[name=tags][value=vip]")
	click(t, ctx, "input[name=tags][value=bug]")
	click(t, ctx, "input[name=urgent]")
	click(t, ctx, "input[name=people][value=bob]")
	click(t, ctx, "input[name=notify]")
	click(t, ctx, "input[name=quiet]")
	setValue(t, ctx, "followUp", "2026-03-02T14:30")
	setValue(t, ctx, "due", "2026-03-05")
	setValue(t, ctx, "remind", "09:15")
	clickButton(t, ctx, "Save")

	followUp := time.Date(2026, 3, 2, 14, 30, 0, 0, time.FixedZone("+01", 3600)).UnixMilli()
	due := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC).UnixMilli()
	wantJSON := fmt.Sprintf(`[{
	  "kind": "action",
	  "arg": {"function": "https://addon.example/save", "parameters": [{"key": "op", "value": "save"}], "persistValues": true},
	  "formInputs": {
	    "subject":  {"stringInputs": {"value": ["Refund"]}},
	    "note":     {"stringInputs": {"value": ["Two lines\nhere"]}},
	    "status":   {"stringInputs": {"value": ["pending"]}},
	    "priority": {"stringInputs": {"value": ["high"]}},
	    "tags":     {"stringInputs": {"value": ["billing", "vip"]}},
	    "urgent":   {"stringInputs": {"value": ["yes"]}},
	    "people":   {"stringInputs": {"value": ["bob"]}},
	    "notify":   {"stringInputs": {"value": ["yes"]}},
	    "followUp": {"dateTimeInput": {"msSinceEpoch": %d, "hasDate": true, "hasTime": true}},
	    "due":      {"dateInput": {"msSinceEpoch": %d}},
	    "remind":   {"timeInput": {"hours": 9, "minutes": 15}}
	  }
	}]`, followUp, due)
	var want []call
	if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
		t.Fatal(err)
	}
	got := calls(t, ctx)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("calls (-want +got):\n%s", d)
	}

	// The Go side of the protocol parses what the renderer sends.
	raw, _ := json.Marshal(got[0].FormInputs)
	var parsed map[string]addon.FormInput
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatalf("addon.FormInput cannot read the form inputs: %v", err)
	}
	if got := parsed["followUp"].DateTimeInput; got == nil || int64(got.MsSinceEpoch) != followUp {
		t.Errorf("followUp parsed as %+v, want %d", got, followUp)
	}
	if got := parsed["remind"].TimeInput; got == nil || got.Hours != 9 || got.Minutes != 15 {
		t.Errorf("remind parsed as %+v", got)
	}
}

// TestValidation checks that an action whose required widgets are empty, or
// whose text input breaks its validation, does not reach the host, and the
// error shows at the widget until the user fixes it.
func TestValidation(t *testing.T) {
	_, ctx := rendererPage(t)
	form := mustRead(t, "testdata/form.json")
	errorsShown := func(t *testing.T) map[string]string {
		t.Helper()
		return eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('#host .pf-error:not([hidden])')]
			.map(e => [e.closest('.pf-widget').querySelector('[data-pf-input]').getAttribute('data-name') || e.closest('.pf-widget').querySelector('[data-pf-input]').name, e.textContent]))`)
	}

	t.Run("required widget empty", func(t *testing.T) {
		show(t, ctx, form)
		clickButton(t, ctx, "Needs subject")
		if got := calls(t, ctx); len(got) != 0 {
			t.Fatalf("action ran with an empty required widget: %+v", got)
		}
		if d := cmp.Diff(map[string]string{"subject": "Required"}, errorsShown(t)); d != "" {
			t.Fatalf("errors (-want +got):\n%s", d)
		}
		if !eval[bool](t, ctx, `document.activeElement.name === 'subject'`) {
			t.Error("focus is not on the invalid widget")
		}
		typeInto(t, ctx, "subject", "Refund")
		if got := errorsShown(t); len(got) != 0 {
			t.Errorf("error still shown after typing: %v", got)
		}
		clickButton(t, ctx, "Needs subject")
		if got := calls(t, ctx); len(got) != 1 || got[0].Arg["function"] != "https://addon.example/req" {
			t.Fatalf("calls after filling = %+v", got)
		}
	})

	t.Run("required checkbox unticked", func(t *testing.T) {
		show(t, ctx, form)
		typeInto(t, ctx, "subject", "Refund")
		click(t, ctx, "input[name=tags][value=bug]")
		clickButton(t, ctx, "Needs subject")
		if got := calls(t, ctx); len(got) != 0 {
			t.Fatalf("action ran: %+v", got)
		}
		if d := cmp.Diff(map[string]string{"tags": "Required"}, errorsShown(t)); d != "" {
			t.Fatalf("errors (-want +got):\n%s", d)
		}
	})

	t.Run("character limit", func(t *testing.T) {
		show(t, ctx, form)
		typeInto(t, ctx, "subject", "Much longer than ten")
		clickButton(t, ctx, "Save")
		if got := calls(t, ctx); len(got) != 0 {
			t.Fatalf("action ran over the limit: %+v", got)
		}
		if d := cmp.Diff(map[string]string{"subject": "Must be at most 10 characters"}, errorsShown(t)); d != "" {
			t.Fatalf("errors (-want +got):\n%s", d)
		}
		if got := eval[string](t, ctx, `document.querySelector('#host .pf-counter').textContent`); got != "20/10" {
			t.Errorf("counter %q, want 20/10", got)
		}
	})

	t.Run("all widgets required", func(t *testing.T) {
		show(t, ctx, form)
		typeInto(t, ctx, "subject", "Refund")
		clickButton(t, ctx, "Needs all")
		if got := calls(t, ctx); len(got) != 0 {
			t.Fatalf("action ran: %+v", got)
		}
		got := errorsShown(t)
		for _, name := range []string{"note", "untouched", "urgent", "people", "notify", "followUp", "due", "remind"} {
			if got[name] != "Required" {
				t.Errorf("%s: error %q, want Required (all: %v)", name, got[name], got)
			}
		}
		for _, name := range []string{"subject", "status", "priority", "tags", "quiet"} {
			if _, ok := got[name]; ok {
				t.Errorf("%s has a value but shows an error %q", name, got[name])
			}
		}
	})
}

// TestSanitize checks the card text formatting subset: Google's tags become
// elements, everything else is shown as the characters it is.
func TestSanitize(t *testing.T) {
	_, ctx := rendererPage(t)
	for _, tc := range []struct{ name, in, want string }{
		{"bold", `<b>bold</b>`, `<b>bold</b>`},
		{"upper case tag", `<B>up</B>`, `<b>up</b>`},
		{"italic underline strike", `<i>x</i><u>y</u><s>z</s><strike>w</strike>`, `<i>x</i><u>y</u><s>z</s><s>w</s>`},
		{"font color", `<font color="#ff0000">red</font>`, `<span class="pf-font" style="color: rgb(255, 0, 0);">red</span>`},
		{"link", `<a href="https://e.com/x?a=1&amp;b=2">l</a>`, `<a class="pf-link" href="https://e.com/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">l</a>`},
		{"mailto link", `<a href="mailto:a@b.example">mail</a>`, `<a class="pf-link" href="mailto:a@b.example" target="_blank" rel="noopener noreferrer">mail</a>`},
		{"line breaks", `a<br>b<br/>c`, `a<br>b<br>c`},
		{"unclosed", `<b>bold`, `<b>bold</b>`},
		{"misnested", `<b><i>x</b>y</i>`, `<b><i>x</i></b>y&lt;/i&gt;`},
		{"script", `<script>alert(1)</script>`, `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{"img onerror", `<img src=x onerror=alert(1)>`, `&lt;img src=x onerror=alert(1)&gt;`},
		{"event attribute", `<b onclick="alert(1)">x</b>`, `&lt;b onclick="alert(1)"&gt;x&lt;/b&gt;`},
		{"javascript link", `<a href="javascript:alert(1)">x</a>`, `&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;`},
		{"entity-hidden javascript link", `<a href="&#106;avascript:alert(1)">x</a>`, `&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;`},
		{"font with css", `<font color="red;background:url(x)">x</font>`, `&lt;font color="red;background:url(x)"&gt;x&lt;/font&gt;`},
		{"style element", `<style>b{color:red}</style>`, `&lt;style&gt;b{color:red}&lt;/style&gt;`},
		{"style attribute", `<i style="color:red">x</i>`, `&lt;i style="color:red"&gt;x&lt;/i&gt;`},
		{"escaped text", `&lt;script&gt; &amp; &#39;q&#39; &#x41;`, `&lt;script&gt; &amp; 'q' A`},
		{"bare angle brackets", `a < b > c`, `a &lt; b &gt; c`},
		{"subject with tags", `Re: <script>alert(1)</script> your order`, `Re: &lt;script&gt;alert(1)&lt;/script&gt; your order`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := json.Marshal(tc.in)
			if got := eval[string](t, ctx, "PostfachCards.sanitize("+string(in)+")"); got != tc.want {
				t.Errorf("sanitize(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}

	t.Run("card text never runs", func(t *testing.T) {
		text := `<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>ok</b>`
		card, _ := json.Marshal(map[string]any{
			"header":   map[string]any{"title": `<b>not bold in a title</b>`},
			"sections": []any{map[string]any{"widgets": []any{map[string]any{"textParagraph": map[string]any{"text": text}}}}},
		})
		show(t, ctx, card)
		// Give an injected image's error handler the chance to run.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 100))`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		if got := eval[string](t, ctx, `String(window.pwned)`); got != "undefined" {
			t.Fatalf("card text ran code: window.pwned = %s", got)
		}
		if got := eval[string](t, ctx, `document.querySelector('#host .pf-text').textContent`); got != `<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">ok` {
			t.Errorf("shown text %q", got)
		}
		if got := eval[string](t, ctx, `document.querySelector('#host .pf-header-title').textContent`); got != `<b>not bold in a title</b>` {
			t.Errorf("title %q: titles are plain text", got)
		}
	})
}

// TestOnChangeAction checks that changing an input with an onChangeAction
// fires it with the form inputs after the change.
func TestOnChangeAction(t *testing.T) {
	_, ctx := rendererPage(t)
	onChange := func(fn string) map[string]any {
		return map[string]any{"function": fn, "loadIndicator": "NONE"}
	}
	card, _ := json.Marshal(map[string]any{"sections": []any{map[string]any{"widgets": []any{
		map[string]any{"selectionInput": map[string]any{"name": "status", "type": "DROPDOWN", "onChangeAction": onChange("https://addon.example/status"),
			"items": []any{map[string]any{"text": "Open", "value": "open"}, map[string]any{"text": "Closed", "value": "closed"}}}},
		map[string]any{"decoratedText": map[string]any{"text": "Notify", "switchControl": map[string]any{"name": "notify", "value": "on", "onChangeAction": onChange("https://addon.example/notify")}}},
		map[string]any{"textInput": map[string]any{"name": "subject", "onChangeAction": onChange("https://addon.example/subject")}},
		map[string]any{"dateTimePicker": map[string]any{"name": "due", "type": "DATE_ONLY", "onChangeAction": onChange("https://addon.example/due")}},
	}}}})
	show(t, ctx, card)
	setValue(t, ctx, "status", "closed")
	click(t, ctx, "input[name=notify]")
	typeInto(t, ctx, "subject", "Hi")
	click(t, ctx, "input[name=notify]") // moves the focus: the text input's change fires first
	setValue(t, ctx, "due", "2026-02-01")

	status := map[string]any{"stringInputs": map[string]any{"value": []any{"closed"}}}
	notify := map[string]any{"stringInputs": map[string]any{"value": []any{"on"}}}
	subject := map[string]any{"stringInputs": map[string]any{"value": []any{"Hi"}}}
	due := map[string]any{"dateInput": map[string]any{"msSinceEpoch": float64(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).UnixMilli())}}
	want := []call{
		{Kind: "action", Arg: onChange("https://addon.example/status"), FormInputs: map[string]any{"status": status}},
		{Kind: "action", Arg: onChange("https://addon.example/notify"), FormInputs: map[string]any{"status": status, "notify": notify}},
		{Kind: "action", Arg: onChange("https://addon.example/subject"), FormInputs: map[string]any{"status": status, "notify": notify, "subject": subject}},
		{Kind: "action", Arg: onChange("https://addon.example/notify"), FormInputs: map[string]any{"status": status, "subject": subject}},
		{Kind: "action", Arg: onChange("https://addon.example/due"), FormInputs: map[string]any{"status": status, "subject": subject, "due": due}},
	}
	if d := cmp.Diff(want, calls(t, ctx)); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}
