package cards

import (
	cardpb "google.golang.org/genproto/googleapis/apps/card/v1"

	"github.com/postfach/postfach/internal/desk"
)

// OpSavePrefs saves the caller's own preferences (form: InputLanguage).
const OpSavePrefs = "save-prefs"

// InputLanguage is the language dropdown of "Your preferences": one of
// LanguageGmail, "en", "de".
const InputLanguage = "language"

// LanguageGmail is InputLanguage's value for "Follow Gmail" (no
// preference: the locale Gmail sends).
const LanguageGmail = "gmail"

// languages are the choices of the language dropdown after "Follow Gmail":
// each named as it calls itself, the same in every catalog.
var languages = []struct{ value, id string }{
	{"en", "prefs.lang_en"},
	{"de", "prefs.lang_de"},
}

// prefsSection is "Your preferences" of the settings screen, which every
// user sees: the language of their cards.
func (b Builder) prefsSection(st desk.Settings) *cardpb.Card_Section {
	items := []*cardpb.SelectionInput_SelectionItem{item(b.t("prefs.lang_gmail"), LanguageGmail, st.Language == "")}
	for _, l := range languages {
		items = append(items, item(b.t(l.id), l.value, st.Language == l.value))
	}
	lang := dropdown(InputLanguage, b.t("prefs.language"), items...)
	return section(b.t("prefs.title"),
		lang,
		text(esc(b.t("prefs.language_hint"))),
		buttons(button(b.t("button.save_prefs"), b.action(ParamOp, OpSavePrefs))),
	)
}
