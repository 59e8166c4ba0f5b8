package inbox

import (
	"regexp"
	"time"
)

// UserPrefs are one user's own settings in a tenant, which only that user
// changes: today the language of their cards. A user who never saved any
// has none stored (Store.GetUserPrefs says ErrNotFound), which means the
// defaults.
type UserPrefs struct {
	TenantID string // the tenant's domain
	Email    string // the user's address, lower case
	// Language is the base of a BCP 47 tag ("en", "de") the user chose for
	// their cards, overriding the locale Gmail sends; "" follows Gmail.
	Language  string
	UpdatedAt time.Time
}

// languageTag matches a BCP 47 primary language subtag, lower case.
var languageTag = regexp.MustCompile(`^[a-z]{2,3}$`)

// Validate checks the keys and the language's form (whether Postfach
// speaks it is for the caller to say).
func (p UserPrefs) Validate() error {
	if !validDomain(p.TenantID) {
		return invalidf("preferences: tenant %q is not a domain name", p.TenantID)
	}
	if p.Email == "" || NormalizeEmail(p.Email) != p.Email {
		return invalidf("preferences: %q is not a lower-case e-mail address", p.Email)
	}
	if p.Language != "" && !languageTag.MatchString(p.Language) {
		return invalidf("preferences: %q is not a language", p.Language)
	}
	return nil
}
